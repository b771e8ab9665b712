"""The server's role checks, against a small in-test authorizer: 401 without a good token, 404 for
what a user may not see (listings leave it out), 403 for read-only, the creator's grant, who is who."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sklearn.dummy import DummyRegressor

import tracking
from tests.tracking.server.conftest import AppServer, Serve
from tracking.auth.base import Principal, Role
from tracking.errors import ExperimentNotFound, ModelNotFound, PermissionDenied, RunNotFound, Unauthenticated
from tracking.wire import API


class TinyAuthorizer:
    """Tokens and grants in dicts: enough of `Authorizer` to drive every check of the server."""

    enabled = True

    def __init__(self) -> None:
        self.tokens = {"t-admin": Principal("root", True, "1"), "t-alice": Principal("alice", False, "2"),
                       "t-bob": Principal("bob", False, "3"), "t-carol": Principal("carol", False, "4")}  # fmt: skip
        self.experiments: dict[tuple[str, int], Role] = {}
        self.models: dict[tuple[str, str], Role] = {}
        self.protected: dict[str, frozenset[str]] = {}

    def authenticate(self, token: str | None) -> Principal:
        if token not in self.tokens:
            raise Unauthenticated("no token, or an unknown, expired or revoked one")
        return self.tokens[token]

    def experiment_role(self, principal: Principal, experiment_id: int) -> Role | None:
        return Role.MANAGE if principal.admin else self.experiments.get((principal.user, experiment_id))

    def model_role(self, principal: Principal, model_name: str) -> Role | None:
        return Role.MANAGE if principal.admin else self.models.get((principal.user, model_name))

    def readable_experiments(self, principal: Principal) -> frozenset[int] | None:
        return None if principal.admin else frozenset(e for u, e in self.experiments if u == principal.user)

    def readable_models(self, principal: Principal) -> frozenset[str] | None:
        return None if principal.admin else frozenset(m for u, m in self.models if u == principal.user)

    def created_experiment(self, principal: Principal, experiment_id: int) -> None:
        self.experiments[(principal.user, experiment_id)] = Role.MANAGE

    def created_model(self, principal: Principal, model_name: str) -> None:
        self.models[(principal.user, model_name)] = Role.MANAGE

    def grant(self, user: str, role: Role, *, experiment_id: int | None = None, model_name: str | None = None) -> None:
        if experiment_id is not None:
            self.experiments[(user, experiment_id)] = role
        else:
            self.models[(user, str(model_name))] = role

    def revoke(self, user: str, *, experiment_id: int | None = None, model_name: str | None = None) -> None:
        self.experiments.pop((user, experiment_id), None)  # type: ignore[arg-type]
        self.models.pop((user, model_name), None)  # type: ignore[arg-type]

    def protected_aliases(self, model_name: str) -> frozenset[str]:
        return self.protected.get(model_name, frozenset())


@pytest.fixture
def auth() -> TinyAuthorizer:
    return TinyAuthorizer()


@pytest.fixture
def server(serve: Serve, auth: TinyAuthorizer) -> Iterator[AppServer]:
    with serve(auth) as s:
        yield s


def connect(server: AppServer, token: str, user: str = "someone-else") -> tracking.TrackingClient:
    # ``user`` is what the client claims; the server must record the token's user instead.
    return tracking.connect(server.url, token=token, user=user)


def test_no_token_or_a_bad_one_is_401(server: AppServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWEEPS_TOKEN", raising=False)
    with pytest.raises(Unauthenticated):
        tracking.connect(server.url)
    with pytest.raises(Unauthenticated):
        tracking.connect(server.url, token="t-nobody")
    assert httpx.get(f"{server.url}{API}/experiments").status_code == 401
    assert httpx.get(f"{server.url}{API}/health").status_code == 200
    monkeypatch.setenv("SWEEPS_TOKEN", "t-bob")  # the environment's token
    with tracking.connect(server.url) as client:
        assert client.list_experiments() == []


def test_a_token_never_shows_in_reprs_or_errors(server: AppServer) -> None:
    with connect(server, "t-alice") as client:
        assert "t-alice" not in repr(client) + repr(client._store) + repr(client.registry)
        with pytest.raises(RunNotFound) as caught:
            client.get_run("ghost")
        assert "t-alice" not in str(caught.value)
    with pytest.raises(Unauthenticated) as refused:
        tracking.connect(server.url, token="t-secret-that-is-wrong")
    assert "t-secret-that-is-wrong" not in str(refused.value)


def test_the_creator_manages_an_experiment_others_do_not_see_it(server: AppServer, auth: TinyAuthorizer) -> None:
    with connect(server, "t-alice", user="mallory") as alice:
        run = alice.start_run("vision", params={"a": 1})
        run.log_metric("acc", 0.9, step=0)
        alice.flush()
        experiment = alice.get_experiment_by_name("vision")
        assert auth.experiments[("alice", experiment.experiment_id)] is Role.MANAGE
        assert alice.get_run(run.run_id).user == "alice"  # never the name the client claims
    with connect(server, "t-bob") as bob:
        assert bob.list_experiments() == []
        assert bob.search_runs().height == 0
        assert bob.runs_with_tag("sweeps.kind") == []
        assert bob.get_runs([run.run_id]) == []
        assert bob.metric_histories([run.run_id], ["acc"]) == {}
        with pytest.raises(RunNotFound, match=f"no run with id '{run.run_id}'"):  # as if it did not exist
            bob.get_run(run.run_id)
        with pytest.raises(RunNotFound):
            bob.set_tags(run.run_id, {"x": "y"})
        with pytest.raises(ExperimentNotFound):
            bob.search_runs(experiment="vision")
        with pytest.raises(ExperimentNotFound):
            bob.start_run("vision")  # the name is taken, and not his
        with pytest.raises(tracking.NotFound):
            bob.artifacts(run.run_id)
    assert httpx.get(f"{server.url}{API}/runs/count", headers={"Authorization": "Bearer t-bob"}).json() == {"count": 0}


def test_read_can_see_but_not_write(server: AppServer, auth: TinyAuthorizer, tmp_path: Path) -> None:
    with connect(server, "t-alice") as alice:
        run = alice.start_run("vision")
        run.log_text("hello", "notes.txt")
        experiment_id = alice.get_experiment_by_name("vision").experiment_id
    auth.grant("carol", Role.READ, experiment_id=experiment_id)
    with connect(server, "t-carol") as carol:
        assert [e.name for e in carol.list_experiments()] == ["vision"]
        assert carol.get_run(run.run_id).run_id == run.run_id
        assert carol.artifacts(run.run_id).read_bytes("notes.txt") == b"hello"
        for write in (
            lambda: carol.set_tags(run.run_id, {"x": "y"}),
            lambda: carol.log_params(run.run_id, {"p": 1}),
            lambda: carol.end_run(run.run_id),
            lambda: carol.start_run("vision"),
            lambda: carol.artifacts(run.run_id).put_bytes(b"x", "y.txt"),
        ):
            with pytest.raises(PermissionDenied):
                write()
        carol.log_metric(run.run_id, "acc", 1.0, step=0)
        with pytest.raises(tracking.SinkError):  # the sink's batch was refused with 403: the run is told
            carol.flush()
    auth.grant("carol", Role.EDIT, experiment_id=experiment_id)
    with connect(server, "t-carol") as carol:
        carol.set_tags(run.run_id, {"x": "y"})
        carol.end_run(run.run_id)
    assert server.store.get_run(run.run_id).tags["x"] == "y"


def registered(server: AppServer, token: str = "t-alice") -> str:
    with connect(server, token) as client:
        with client.start_run("models") as run:
            run.log_model(DummyRegressor().fit([[0.0]], [1.0]))
        client.registry.register_model("m", run.run_id)
        return run.run_id


def test_registry_roles_and_the_audited_user(server: AppServer, auth: TinyAuthorizer) -> None:
    run_id = registered(server)
    assert auth.models[("alice", "m")] is Role.MANAGE  # the first version's registrant manages the model
    with connect(server, "t-bob") as bob:
        assert bob.registry.list_registered_models() == []
        with pytest.raises(ModelNotFound):
            bob.registry.get_registered_model("m")
        with pytest.raises(ModelNotFound):
            bob.registry.set_alias("m", "champion", 1)
    auth.grant("bob", Role.READ, model_name="m")
    with connect(server, "t-bob") as bob:
        assert bob.registry.get_model_version("m", 1).run_id == run_id
        with pytest.raises(PermissionDenied):
            bob.registry.set_alias("m", "champion", 1)
    auth.grant("bob", Role.EDIT, model_name="m")
    auth.protected["m"] = frozenset({"prod"})
    with connect(server, "t-bob", user="mallory") as bob:
        bob.registry.set_alias("m", "champion", 1)
        with pytest.raises(PermissionDenied):
            bob.registry.set_alias("m", "prod", 1, reason="release")  # protected: MANAGE only
        with pytest.raises(PermissionDenied):
            bob.registry.transition_stage("m", 1, "Production")  # stages: MANAGE
    with connect(server, "t-alice") as alice:
        with pytest.raises(PermissionDenied, match="needs a reason"):
            alice.registry.set_alias("m", "prod", 1)
        alice.registry.set_alias("m", "prod", 1, reason="release 1")
        log = alice.registry.audit_log("m")
    assert [(e.action, e.subject, e.actor) for e in log] == [
        ("register", None, "alice"),
        ("alias", "champion", "bob"),  # the token's user, not "mallory"
        ("alias", "prod", "alice"),
    ]


def test_grants_over_http_need_manage(server: AppServer, auth: TinyAuthorizer) -> None:
    with connect(server, "t-alice") as alice:
        experiment_id = alice.get_or_create_experiment("shared").experiment_id
    body = {"user": "bob", "role": "read", "experiment_id": experiment_id}
    refused = httpx.post(f"{server.url}{API}/grants", json=body, headers={"Authorization": "Bearer t-bob"})
    assert refused.status_code == 404  # bob cannot see it, so he cannot grant on it
    granted = httpx.post(f"{server.url}{API}/grants", json=body, headers={"Authorization": "Bearer t-alice"})
    assert granted.status_code == 200 and auth.experiments[("bob", experiment_id)] is Role.READ
    again = httpx.post(
        f"{server.url}{API}/grants", json={**body, "role": "manage"}, headers={"Authorization": "Bearer t-bob"}
    )
    assert again.status_code == 403  # read is not manage
