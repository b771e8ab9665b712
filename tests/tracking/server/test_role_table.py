"""SPEC §8's role table, cell by cell, against a real `sweeps server` process and tokens made by
`sweeps auth`: every operation on an experiment and on a model, for no grant, read, edit, manage
and admin; no, bad, expired and revoked tokens get 401; guessing another experiment's run id 404."""

from __future__ import annotations

import itertools
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sklearn.dummy import DummyRegressor

import tracking
from tests.support import server as http_support
from tracking.auth.base import Role
from tracking.auth.sql_auth import SqlAuth
from tracking.errors import NotFound, PermissionDenied, Unauthenticated
from tracking.store.sql_store import SqlStore
from tracking.wire import API

ROLES = ("none", "read", "edit", "manage", "admin")
OK, HIDDEN, DENIED = "ok", "404", "403"
_unique = itertools.count()


@dataclass
class Team:
    url: str
    tokens: dict[str, str]  # role name -> the token of a user holding exactly that role
    auth: SqlAuth
    store: SqlStore
    run_id: str  # a run of experiment "exp"
    source_run_id: str  # a run with a model, in experiment "src" that every user may read
    experiment_id: int
    server: http_support.ServerProcess


def sweeps_auth(store_uri: str, *args: str) -> str:
    """Run `sweeps auth ...` on the store, as its owner would; its stdout."""
    done = subprocess.run(
        [*http_support.sweeps_command(), "auth", *args, "--store", store_uri],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def token_of(output: str) -> str:
    return output.strip().splitlines()[-1]  # SPEC §8: alone on the last line of stdout


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    base = tmp_path_factory.mktemp("role-table")
    store_uri = f"sqlite:///{base / 'store.db'}"
    tokens = {"admin": token_of(sweeps_auth(store_uri, "user", "add", "root", "--admin"))}
    with http_support.running(store_uri, base / "artifacts", base, command="server") as server:
        with tracking.connect(server.url, token=tokens["admin"]) as root:
            run = root.start_run("exp")
            run.log_metric("acc", 0.5, step=0)  # left RUNNING: the log cells write to it
            with root.start_run("src") as source:
                source.log_model(DummyRegressor().fit([[0.0]], [1.0]))
            root.registry.register_model("m", source.run_id)
            experiment_id = root.get_experiment_by_name("exp").experiment_id
            source_experiment = root.get_experiment_by_name("src").experiment_id
        store = SqlStore(store_uri)
        auth = store.auth_store()
        for role in ROLES[:-1]:
            tokens[role] = token_of(sweeps_auth(store_uri, "user", "add", f"u-{role}"))
            sweeps_auth(store_uri, "grant", f"u-{role}", "read", "--experiment", "src")
            if role != "none":
                sweeps_auth(store_uri, "grant", f"u-{role}", role, "--experiment", "exp")
                sweeps_auth(store_uri, "grant", f"u-{role}", role, "--model", "m")
        auth.add_user("dave")  # the grantee of the grant cells
        auth.protect_alias("m", "prod", actor="root")
        assert auth.role("u-read", "experiment", str(source_experiment)) is Role.READ
        try:
            yield Team(server.url, tokens, auth, store, run.run_id, source.run_id, experiment_id, server)
        finally:
            store.close()


def _grant(team: Team, token: str, body: dict[str, object]) -> None:
    answer = httpx.post(f"{team.url}{API}/grants", json=body, headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 200:
        message = answer.json()["error"]["message"]
        raise {404: NotFound, 403: PermissionDenied}[answer.status_code](message)


Operation = Callable[[Team, tracking.TrackingClient, str], object]

OPERATIONS: dict[str, tuple[Operation, dict[str, str]]] = {
    # on the experiment
    "read a run": (
        lambda team, c, tok: c.get_run(team.run_id),
        {"none": HIDDEN, "read": OK, "edit": OK, "manage": OK, "admin": OK},
    ),
    "log to a run": (
        lambda team, c, tok: c.log_params(team.run_id, {f"p{next(_unique)}": 1}),
        {"none": HIDDEN, "read": DENIED, "edit": OK, "manage": OK, "admin": OK},
    ),
    "start a run": (
        lambda team, c, tok: c.start_run("exp").end(),
        {"none": HIDDEN, "read": DENIED, "edit": OK, "manage": OK, "admin": OK},
    ),
    "grant on the experiment": (
        lambda team, c, tok: _grant(team, tok, {"user": "dave", "role": "read", "experiment_id": team.experiment_id}),
        {"none": HIDDEN, "read": DENIED, "edit": DENIED, "manage": OK, "admin": OK},
    ),
    # on the model
    "read a version": (
        lambda team, c, tok: c.registry.get_model_version("m", 1),
        {"none": HIDDEN, "read": OK, "edit": OK, "manage": OK, "admin": OK},
    ),
    "register a version": (
        lambda team, c, tok: c.registry.register_model("m", team.source_run_id),
        {"none": HIDDEN, "read": DENIED, "edit": OK, "manage": OK, "admin": OK},
    ),
    "move an alias": (
        lambda team, c, tok: c.registry.set_alias("m", "candidate", 1),
        {"none": HIDDEN, "read": DENIED, "edit": OK, "manage": OK, "admin": OK},
    ),
    "move a protected alias": (
        lambda team, c, tok: c.registry.set_alias("m", "prod", 1, reason="release"),
        {"none": HIDDEN, "read": DENIED, "edit": DENIED, "manage": OK, "admin": OK},
    ),
    "set a stage": (
        lambda team, c, tok: c.registry.transition_stage("m", 1, "Staging"),
        {"none": HIDDEN, "read": DENIED, "edit": DENIED, "manage": OK, "admin": OK},
    ),
    "grant on the model": (
        lambda team, c, tok: _grant(team, tok, {"user": "dave", "role": "read", "model_name": "m"}),
        {"none": HIDDEN, "read": DENIED, "edit": DENIED, "manage": OK, "admin": OK},
    ),
}
CELLS = [(op, role) for op in OPERATIONS for role in ROLES]


@pytest.mark.parametrize(("operation", "role"), CELLS, ids=[f"{op}-{role}" for op, role in CELLS])
def test_role_table(team: Team, operation: str, role: str) -> None:
    run_op, expected = OPERATIONS[operation]
    token = team.tokens[role]
    with tracking.connect(team.url, token=token) as client:
        if expected[role] == OK:
            run_op(team, client, token)
            return
        refused = NotFound if expected[role] == HIDDEN else PermissionDenied
        with pytest.raises(refused):
            run_op(team, client, token)


def test_a_protected_alias_needs_a_reason_even_for_manage(team: Team) -> None:
    with (
        tracking.connect(team.url, token=team.tokens["manage"]) as client,
        pytest.raises(PermissionDenied, match="needs a reason"),
    ):
        client.registry.set_alias("m", "prod", 1)


def test_listings_leave_out_what_a_user_has_no_grant_on(team: Team) -> None:
    with tracking.connect(team.url, token=team.tokens["none"]) as nobody:
        assert [e.name for e in nobody.list_experiments()] == ["src"]
        assert nobody.registry.list_registered_models() == []
        assert team.run_id not in nobody.search_runs()["run_id"].to_list()
    with tracking.connect(team.url, token=team.tokens["read"]) as reader:
        assert sorted(e.name for e in reader.list_experiments()) == ["exp", "src"]
        assert [m.name for m in reader.registry.list_registered_models()] == ["m"]


def test_the_audit_names_the_tokens_user_not_the_claimed_one(team: Team) -> None:
    with tracking.connect(team.url, token=team.tokens["edit"], user="mallory") as client:
        client.registry.set_alias("m", "audited", 1)
        assert client.registry.audit_log("m")[-1].actor == "u-edit"


def test_guessing_a_run_id_of_another_experiment_is_404(team: Team) -> None:
    headers = {"Authorization": f"Bearer {team.tokens['none']}"}
    answer = httpx.get(f"{team.url}{API}/runs/{team.run_id}", headers=headers)
    assert answer.status_code == 404
    assert team.run_id in answer.json()["error"]["message"]  # "no run with id ...", as for a missing one


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer swp_nonsense", "Basic dXNlcjpwdw==", "Bearer swp_0000000000000000_" + "a" * 43]
)
def test_no_token_or_a_bad_one_is_401(team: Team, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    answer = httpx.get(f"{team.url}{API}/experiments", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"


def test_an_expired_token_is_401(team: Team) -> None:
    info, text = team.auth.add_token("u-read", expires_days=1e-6)  # ~86 ms
    while time.time() * 1000 <= info.expires_at:  # type: ignore[operator]
        time.sleep(0.01)  # the token's own clock, not a synchronisation
    with pytest.raises(Unauthenticated, match="expired"):
        tracking.connect(team.url, token=text)


def test_a_revoked_token_is_401_at_once_even_after_it_was_used(team: Team) -> None:
    _, text = team.auth.add_token("u-read")
    with tracking.connect(team.url, token=text) as client:
        assert client.get_run(team.run_id).run_id == team.run_id  # its secret is now checked and cached
        sweeps_auth(team.store.uri, "token", "revoke", text.split("_")[1])
        with pytest.raises(Unauthenticated):
            client.get_run(team.run_id)


def test_a_right_id_with_a_wrong_secret_is_401(team: Team) -> None:
    _, text = team.auth.add_token("u-read")
    with tracking.connect(team.url, token=text):
        pass  # the right secret is cached now; a wrong one for the same id must still fail
    forged = text[:-4] + ("AAAA" if not text.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthenticated):
        tracking.connect(team.url, token=forged)


def test_tokens_are_stored_only_as_hashes(team: Team, tmp_path: Path) -> None:
    _, text = team.auth.add_token("u-read")
    secret = text.split("_", 2)[2]
    raw = Path(team.store.uri.partition(":///")[2]).read_bytes()
    assert secret.encode() not in raw and text.encode() not in raw
    listing = sweeps_auth(team.store.uri, "list")
    assert secret not in listing and "u-read" in listing


def test_no_token_shows_in_the_servers_log(team: Team) -> None:
    with tracking.connect(team.url, token=team.tokens["read"]) as client:  # a good token, a bad one
        client.get_run(team.run_id)
    httpx.get(f"{team.url}{API}/experiments", headers={"Authorization": "Bearer swp_0123456789abcdef_" + "x" * 43})
    log = team.server.output()
    assert log  # it logs (requests, start-up), just never a secret
    for token in [*team.tokens.values(), "swp_0123456789abcdef_" + "x" * 43]:
        secret = token.split("_", 2)[2]  # the part after swp_<id>_ (it may hold "_" itself)
        assert token not in log and secret not in log
