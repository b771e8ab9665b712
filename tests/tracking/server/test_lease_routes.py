"""The sweep lease over the server: edit on the sweep's run to take, renew or give it back; read to
see it; no grant: as unknown as the run; a refusal arrives as `SweepLeased` with the server's message."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.tracking.server.conftest import AppServer, Serve
from tests.tracking.server.test_roles import TinyAuthorizer
from tracking import PermissionDenied, RunNotFound, SweepLeased
from tracking.auth.base import Role
from tracking.store import Store, open_store
from tracking.wire import API

TTL_S = 30.0


@pytest.fixture
def auth() -> TinyAuthorizer:
    return TinyAuthorizer()


@pytest.fixture
def server(serve: Serve, auth: TinyAuthorizer) -> Iterator[AppServer]:
    with serve(auth) as s:
        yield s


@pytest.fixture
def stores(server: AppServer) -> Iterator[dict[str, Store]]:
    opened = {user: open_store(server.url, token=f"t-{user}") for user in ("alice", "bob", "carol")}
    try:
        yield opened
    finally:
        for store in opened.values():
            store.close()


def sweep_of(store: Store) -> str:
    experiment = store.get_or_create_experiment("vision", "")
    return store.create_run(experiment, name="sweep", parent_run_id=None, tags={}, user=None).run_id


def test_read_sees_the_lease_edit_takes_it_no_grant_finds_nothing(
    server: AppServer, auth: TinyAuthorizer, stores: dict[str, Store]
) -> None:
    alice, bob, carol = stores["alice"], stores["bob"], stores["carol"]
    run_id = sweep_of(alice)  # alice created the experiment: she manages it
    held = alice.acquire_lease(run_id, "alice-driver", "host-a", 11, TTL_S)
    auth.grant("bob", Role.READ, experiment_id=alice.get_run(run_id).experiment_id)

    seen = bob.get_lease(run_id)
    assert seen is not None and (seen.owner, seen.host, seen.pid) == ("alice-driver", "host-a", 11) and seen.live
    for attempt in (
        lambda: bob.acquire_lease(run_id, "bob-driver", "host-b", 22, TTL_S),
        lambda: bob.renew_lease(run_id, "alice-driver", TTL_S),
        lambda: bob.release_lease(run_id, "alice-driver"),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    for attempt in (
        lambda: carol.get_lease(run_id),
        lambda: carol.acquire_lease(run_id, "carol-driver", "host-c", 33, TTL_S),
        lambda: carol.release_lease(run_id, "alice-driver"),
    ):
        with pytest.raises(RunNotFound):
            attempt()
    kept = server.store.get_lease(run_id)
    assert kept is not None and (kept.owner, kept.expires_at) == ("alice-driver", held.expires_at)


def test_a_second_owner_gets_409_sweep_leased_naming_the_holder(
    server: AppServer, auth: TinyAuthorizer, stores: dict[str, Store]
) -> None:
    alice, bob = stores["alice"], stores["bob"]
    run_id = sweep_of(alice)
    alice.acquire_lease(run_id, "alice-driver", "host-a", 11, TTL_S)
    auth.grant("bob", Role.EDIT, experiment_id=alice.get_run(run_id).experiment_id)
    with pytest.raises(SweepLeased, match=r"pid 11 on host host-a .*lapses in"):
        bob.acquire_lease(run_id, "bob-driver", "host-b", 22, TTL_S)
    answer = httpx.post(
        f"{server.url}{API}/runs/{run_id}/lease",
        json={"owner": "bob-driver", "host": "host-b", "pid": 22, "ttl_s": TTL_S},
        headers={"Authorization": "Bearer t-bob"},
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "sweep_leased"


@pytest.mark.parametrize(
    "body",
    [
        {"owner": "o", "host": "h", "pid": 1},  # no ttl
        {"owner": "o", "host": "h", "pid": 1, "ttl_s": "30"},
        {"owner": "o", "host": "h", "pid": 1, "ttl_s": True},
        {"owner": "o", "host": "h", "pid": "1", "ttl_s": 30},
        {"owner": 5, "host": "h", "pid": 1, "ttl_s": 30},
        {"owner": "o", "host": "h", "pid": -1, "ttl_s": 30},
        {"owner": "o", "host": "h", "pid": 1, "ttl_s": 0},
    ],
)
def test_a_malformed_lease_request_is_400_and_takes_nothing(
    server: AppServer, stores: dict[str, Store], body: dict[str, object]
) -> None:
    run_id = sweep_of(stores["alice"])
    url = f"{server.url}{API}/runs/{run_id}/lease"
    answer = httpx.post(url, json=body, headers={"Authorization": "Bearer t-alice"})
    assert answer.status_code == 400, answer.text
    assert server.store.get_lease(run_id) is None
