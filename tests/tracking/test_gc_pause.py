"""The cycle collector's pause around bulk reads: nested and across threads, the collector comes
back as it was, and only when the last pause ends."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from tracking.gc_pause import paused_gc


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_nested_pauses_enable_the_collector_when_the_outer_one_ends() -> None:
    gc.enable()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_error_inside_still_ends_the_pause() -> None:
    gc.enable()
    with pytest.raises(ValueError), paused_gc():
        raise ValueError("boom")
    assert gc.isenabled()


def test_the_collector_waits_for_the_last_thread_inside() -> None:
    gc.enable()
    inside, leave = threading.Event(), threading.Event()

    def reader() -> None:
        with paused_gc():
            inside.set()
            leave.wait(10)

    other = threading.Thread(target=reader)
    other.start()
    assert inside.wait(10)
    with paused_gc():
        pass
    assert not gc.isenabled()  # the other thread is still reading
    leave.set()
    other.join(10)
    assert gc.isenabled()


def test_a_decorated_read_is_paused_while_it_runs() -> None:
    gc.enable()

    @paused_gc()
    def read() -> bool:
        return gc.isenabled()

    assert read() is False and gc.isenabled()
