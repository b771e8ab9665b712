"""Contract: bad input is refused with a clear error and never changes what is stored."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.support.state import run_state
from tracking import (
    ActiveRun,
    InvalidParameter,
    Metric,
    ParamConflict,
    RunFinished,
    RunNotFound,
    TrackingClient,
    TrackingError,
)
from tracking.store import Store

# Typed as Any on purpose: these are the wrong types the store must refuse.
BAD_KEYS: list[Any] = ["", "   ", "k" * 251, "a\nb", "a\tb", "a\x00b", "a\x7fb", "\x1b[31m", None, 3]
BAD_VALUES: list[Any] = ["1.0", None, True, False, [1.0], complex(1, 2), Decimal("1.5"), 10**400]
BAD_STEPS: list[Any] = [1.5, "3", True, 2**63, -(2**63) - 1]
BAD_TIMESTAMPS: list[Any] = ["now", math.nan, math.inf, 2**64, True]


@pytest.fixture
def seeded(client: TrackingClient) -> ActiveRun:
    """A RUNNING run that already holds a param, a tag and a metric series."""
    run = client.start_run("e", "seeded", params={"alpha": 0.1}, tags={"team": "vision"})
    run.log_metric("loss", 1.0)
    run.log_metric("loss", math.nan)
    run.log_metric("loss", 0.5)
    client.flush()
    return run


def assert_refused_unchanged(
    client: TrackingClient,
    run: ActiveRun,
    call: Callable[[], object],
    error: type[Exception] = InvalidParameter,
    artifact_root: Path | None = None,
) -> None:
    before = run_state(client, run.run_id, artifact_root)
    with pytest.raises(error):
        call()
    client.flush()
    assert run_state(client, run.run_id, artifact_root) == before


def test_bad_keys_are_refused_everywhere(client: TrackingClient, store: Store, seeded: ActiveRun) -> None:
    for key in BAD_KEYS:
        assert_refused_unchanged(client, seeded, partial(seeded.log_metric, key, 1.0))
        assert_refused_unchanged(client, seeded, partial(seeded.log_metrics, {"fine": 1.0, key: 2.0}))
        assert_refused_unchanged(client, seeded, partial(seeded.log_param, key, 1))
        assert_refused_unchanged(client, seeded, partial(seeded.log_params, {"beta": 1, key: 2}))
        assert_refused_unchanged(client, seeded, partial(seeded.set_tag, key, "v"))
        assert_refused_unchanged(client, seeded, partial(client.get_or_create_experiment, key))
        assert_refused_unchanged(client, seeded, partial(client.start_run, "e", tags={key: "v"}))
    assert len(client.list_experiments()) == 1
    assert store.count_runs() == 1


def test_key_of_exactly_250_characters_round_trips(client: TrackingClient) -> None:
    key = "é" + "k" * 249
    run = client.start_run("x" * 250, "n" * 250, params={key: "v"}, tags={key: "t"})
    run.log_metric(key, 1.5, step=0)
    info = run.info
    assert info.name == "n" * 250
    assert dict(info.params) == {key: "v"} and dict(info.tags) == {key: "t"}
    assert info.metrics[key].last == 1.5


def test_non_numeric_metric_values_are_refused(client: TrackingClient, seeded: ActiveRun) -> None:
    for value in BAD_VALUES:
        assert_refused_unchanged(client, seeded, partial(seeded.log_metric, "loss", value))
        assert_refused_unchanged(client, seeded, partial(seeded.log_metrics, {"new": 1.0, "loss": value}))
        assert_refused_unchanged(
            client, seeded, partial(client.log_batch, seeded.run_id, [Metric("loss", value, 9, 0)], params={"p": 1})
        )


def test_bad_steps_and_timestamps_are_refused(client: TrackingClient, seeded: ActiveRun) -> None:
    for step in BAD_STEPS:
        assert_refused_unchanged(client, seeded, partial(seeded.log_metric, "loss", 1.0, step=step))
        assert_refused_unchanged(
            client, seeded, partial(client.log_batch, seeded.run_id, [Metric("loss", 1.0, step, 0)])
        )
    for timestamp in BAD_TIMESTAMPS:
        assert_refused_unchanged(client, seeded, partial(seeded.log_metric, "loss", 1.0, timestamp=timestamp))
        assert_refused_unchanged(
            client, seeded, partial(client.log_batch, seeded.run_id, [Metric("loss", 1.0, 7, timestamp)])
        )


def test_extreme_steps_and_timestamps_are_stored(client: TrackingClient) -> None:
    run = client.start_run("e")
    run.log_metric("m", 1.0, step=-(2**63), timestamp=-(2**63))
    run.log_metric("m", 2.0, step=2**63 - 1, timestamp=2**63 - 1)
    history = client.get_metric_history(run.run_id, "m")
    assert [(m.step, m.timestamp) for m in history] == [(-(2**63), -(2**63)), (2**63 - 1, 2**63 - 1)]


@pytest.mark.parametrize("value", [pytest.param("a\x00b", id="nul"), pytest.param("x" * 6001, id="overlong")])
def test_bad_param_and_tag_values_are_refused(
    client: TrackingClient, store: Store, seeded: ActiveRun, value: str
) -> None:
    assert_refused_unchanged(client, seeded, lambda: seeded.log_param("beta", value))
    assert_refused_unchanged(client, seeded, lambda: seeded.set_tag("team", value))
    assert_refused_unchanged(client, seeded, lambda: client.start_run("e", params={"p": value}))
    assert store.count_runs() == 1


def test_param_values_with_unicode_and_newlines_are_kept(client: TrackingClient) -> None:
    run = client.start_run("e", params={"text": "line1\nline2\t✓ 'quoted' \"q\" \\ %s ;--"})
    assert run.info.params["text"] == "line1\nline2\t✓ 'quoted' \"q\" \\ %s ;--"


@pytest.mark.parametrize("name", [pytest.param("n" * 251, id="overlong"), pytest.param("a\x00b", id="nul"), 5])
def test_bad_run_names_are_refused_and_no_run_is_made(client: TrackingClient, store: Store, name: object) -> None:
    with pytest.raises(InvalidParameter):
        client.start_run("e", name)  # type: ignore[arg-type]
    assert store.count_runs() == 0


@pytest.mark.parametrize("run_id", ["", "a/b", "../x", "a b", "x" * 33, "é", 7, "a\n"])
def test_bad_run_ids_are_refused_and_no_run_is_made(client: TrackingClient, store: Store, run_id: object) -> None:
    with pytest.raises(InvalidParameter, match="run_id"):
        client.start_run("e", run_id=run_id)  # type: ignore[arg-type]
    assert store.count_runs() == 0


def test_a_chosen_run_id_is_used_once(client: TrackingClient, store: Store) -> None:
    from tracking import RunExists

    run = client.start_run("e", "first", run_id="my-Run_01")
    assert run.run_id == "my-Run_01" and client.get_run("my-Run_01").name == "first"
    with pytest.raises(RunExists, match="my-Run_01"):
        client.start_run("e", "second", run_id="my-Run_01", params={"p": 1}, tags={"t": "v"})
    assert store.count_runs() == 1
    info = client.get_run("my-Run_01")
    assert (info.name, dict(info.params), dict(info.tags)) == ("first", {}, {})


def test_a_param_conflict_in_a_batch_writes_nothing(client: TrackingClient, seeded: ActiveRun) -> None:
    assert_refused_unchanged(
        client,
        seeded,
        lambda: client.log_batch(seeded.run_id, [Metric("loss", 3.0, 10, 0)], params={"alpha": 0.2}, tags={"x": 1}),
        ParamConflict,
    )


# -- finished and unknown runs -----------------------------------------------------------


def test_logging_to_a_finished_run_is_refused(client: TrackingClient, seeded: ActiveRun) -> None:
    seeded.end()
    for call in (
        lambda: seeded.log_metric("loss", 2.0),
        lambda: seeded.log_metrics({"loss": 2.0}, step=100),
        lambda: seeded.log_param("beta", 1),
        lambda: client.log_batch(seeded.run_id, [Metric("loss", 3.0, 10, 0)]),
        lambda: client.attach(seeded.run_id),
    ):
        assert_refused_unchanged(client, seeded, call, RunFinished)


def test_a_run_finished_by_another_client_refuses_new_points(
    client: TrackingClient, store_uri: str, artifact_root: Path
) -> None:
    import tracking

    with tracking.connect(store_uri, artifacts=str(artifact_root)) as other:
        run = other.start_run("e")
        run.log_metric("a", 1.0)
        run.end()
    with pytest.raises(RunFinished, match="FINISHED"):
        client.log_metric(run.run_id, "a", 2.0)
    assert len(client.get_metric_history(run.run_id, "a")) == 1


def test_logging_to_an_unknown_run_is_refused(client: TrackingClient, store: Store) -> None:
    ghost = "0" * 32
    for call in (
        lambda: client.log_metric(ghost, "a", 1.0),
        lambda: client.log_param(ghost, "a", 1),
        lambda: client.log_batch(ghost, [Metric("a", 1.0, 0, 0)]),
        lambda: client.get_metric_history(ghost, "a") or client.get_run(ghost),
    ):
        with pytest.raises(RunNotFound):
            call()
    client.flush()
    assert store.metric_histories([ghost], ["a"]) == {}


def test_every_refusal_is_a_tracking_error_and_a_value_error(client: TrackingClient, seeded: ActiveRun) -> None:
    with pytest.raises(TrackingError):
        seeded.log_metric("", 1.0)
    with pytest.raises(ValueError):
        seeded.log_metric("loss", "high")  # type: ignore[arg-type]
    with pytest.raises(LookupError):
        client.get_run("nope")
