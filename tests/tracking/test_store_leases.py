"""Contract: a sweep's driver lease — acquire, renew, release, takeover after it lapses, and one
winner when several owners race for it — the same on SQLite, PostgreSQL and over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from tracking import InvalidParameter, SweepLeased, TrackingClient
from tracking.store import Store, open_store

TTL_S = 30.0
SHORT_TTL_S = 0.4  # lapses within a test; every wait for it polls the store with a deadline
DEADLINE_S = 20.0


def wait_until(what: str, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.02)  # polling interval; `ready` decides
    pytest.fail(f"no {what} within {DEADLINE_S}s")


def sweep_run(client: TrackingClient) -> str:
    """A parent run to lease (over HTTP a lease needs a run the caller may edit)."""
    return client.start_run("leases", name="sweep").run_id


def lapsed(store: Store, run_id: str) -> Callable[[], bool]:
    def check() -> bool:
        lease = store.get_lease(run_id)
        return lease is not None and not lease.live

    return check


def test_a_free_lease_is_taken_and_read_back(client: TrackingClient, store: Store) -> None:
    run_id = sweep_run(client)
    assert store.get_lease(run_id) is None
    lease = store.acquire_lease(run_id, "owner-a", "host-a", 111, TTL_S)
    assert (lease.sweep_run_id, lease.owner, lease.host, lease.pid) == (run_id, "owner-a", "host-a", 111)
    assert lease.acquired_at == lease.heartbeat_at
    assert lease.expires_at - lease.heartbeat_at == TTL_S * 1000
    assert TTL_S - 1 < lease.expires_in_s <= TTL_S and lease.live
    read = store.get_lease(run_id)
    assert read is not None and read.owner == "owner-a" and read.expires_at == lease.expires_at and read.live


def test_a_held_lease_refuses_another_owner_naming_the_holder(client: TrackingClient, store: Store) -> None:
    run_id = sweep_run(client)
    held = store.acquire_lease(run_id, "owner-a", "host-a", 111, TTL_S)
    with pytest.raises(SweepLeased) as refused:
        store.acquire_lease(run_id, "owner-b", "host-b", 222, TTL_S)
    message = str(refused.value)
    assert "pid 111" in message and "host-a" in message and "lapses in" in message, message
    after = store.get_lease(run_id)
    assert after is not None and (after.owner, after.expires_at) == ("owner-a", held.expires_at)  # unchanged


def test_the_holder_acquiring_again_renews_and_keeps_its_start(client: TrackingClient, store: Store) -> None:
    run_id = sweep_run(client)
    first = store.acquire_lease(run_id, "owner-a", "host-a", 111, 1.0)
    again = store.acquire_lease(run_id, "owner-a", "host-a", 111, TTL_S)
    assert again.owner == "owner-a" and again.acquired_at == first.acquired_at
    assert again.expires_at > first.expires_at
    renewed = store.renew_lease(run_id, "owner-a", TTL_S)
    assert renewed.acquired_at == first.acquired_at and renewed.expires_at >= again.expires_at


def test_a_lapsed_lease_is_taken_over_and_the_old_owner_loses_it(client: TrackingClient, store: Store) -> None:
    run_id = sweep_run(client)
    store.acquire_lease(run_id, "owner-a", "host-a", 111, SHORT_TTL_S)
    with pytest.raises(SweepLeased):
        store.acquire_lease(run_id, "owner-b", "host-b", 222, TTL_S)  # not lapsed yet
    wait_until("lapsed lease", lapsed(store, run_id))
    taken = store.acquire_lease(run_id, "owner-b", "host-b", 222, TTL_S)
    assert (taken.owner, taken.host, taken.pid) == ("owner-b", "host-b", 222)
    assert taken.acquired_at == taken.heartbeat_at  # a new tenure, not the old one's
    with pytest.raises(SweepLeased) as lost:
        store.renew_lease(run_id, "owner-a", TTL_S)
    assert "pid 222" in str(lost.value) and "host-b" in str(lost.value), str(lost.value)
    store.release_lease(run_id, "owner-a")  # not its lease any more: left alone
    kept = store.get_lease(run_id)
    assert kept is not None and kept.owner == "owner-b" and kept.live


def test_a_lapsed_lease_nobody_took_is_renewed_by_its_owner(client: TrackingClient, store: Store) -> None:
    run_id = sweep_run(client)
    store.acquire_lease(run_id, "owner-a", "host-a", 111, SHORT_TTL_S)
    wait_until("lapsed lease", lapsed(store, run_id))
    renewed = store.renew_lease(run_id, "owner-a", TTL_S)
    assert renewed.owner == "owner-a" and renewed.live


def test_release_frees_the_lease_at_once(client: TrackingClient, store: Store) -> None:
    run_id = sweep_run(client)
    store.acquire_lease(run_id, "owner-a", "host-a", 111, TTL_S)
    store.release_lease(run_id, "owner-a")
    assert store.get_lease(run_id) is None
    store.release_lease(run_id, "owner-a")  # releasing twice is no error
    with pytest.raises(SweepLeased) as gone:
        store.renew_lease(run_id, "owner-a", TTL_S)
    assert "gone" in str(gone.value)
    assert store.acquire_lease(run_id, "owner-b", "host-b", 222, TTL_S).owner == "owner-b"


def test_leases_of_two_sweeps_are_independent(client: TrackingClient, store: Store) -> None:
    a, b = sweep_run(client), sweep_run(client)
    store.acquire_lease(a, "owner-a", "host-a", 111, TTL_S)
    assert store.acquire_lease(b, "owner-b", "host-b", 222, TTL_S).owner == "owner-b"


@pytest.mark.parametrize("ttl_s", [0, -1.0, 86_400 * 365])
def test_a_bad_ttl_is_refused(client: TrackingClient, store: Store, ttl_s: float) -> None:
    run_id = sweep_run(client)
    with pytest.raises(InvalidParameter, match="ttl_s"):
        store.acquire_lease(run_id, "owner-a", "host-a", 111, ttl_s)
    assert store.get_lease(run_id) is None


def test_an_owner_longer_than_the_column_is_refused(client: TrackingClient, store: Store) -> None:
    run_id = sweep_run(client)
    with pytest.raises(InvalidParameter, match="owner"):
        store.acquire_lease(run_id, "x" * 65, "host-a", 111, TTL_S)


@pytest.mark.parametrize("state", ["free", "lapsed"])
def test_owners_racing_for_a_lease_have_exactly_one_winner(
    client: TrackingClient, store: Store, store_uri: str, state: str
) -> None:
    run_id = sweep_run(client)
    if state == "lapsed":
        store.acquire_lease(run_id, "owner-old", "host-old", 1, SHORT_TTL_S)
        wait_until("lapsed lease", lapsed(store, run_id))
    contenders = 6
    stores = [open_store(store_uri) for _ in range(contenders)]  # a connection each, as processes have
    barrier = threading.Barrier(contenders)
    won: list[str] = []
    refused: list[str] = []
    failed: list[BaseException] = []

    def contend(i: int) -> None:
        barrier.wait()
        try:
            stores[i].acquire_lease(run_id, f"owner-{i}", f"host-{i}", 1000 + i, TTL_S)
            won.append(f"owner-{i}")
        except SweepLeased as exc:
            refused.append(str(exc))
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(contenders)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(DEADLINE_S)
    finally:
        for s in stores:
            s.close()
    assert not failed, failed
    assert len(won) == 1 and len(refused) == contenders - 1, (won, refused)
    holder = store.get_lease(run_id)
    assert holder is not None and holder.owner == won[0]
    assert all(f"pid {holder.pid}" in message for message in refused), refused
