"""UI sessions live in the store: one opened by one `sweeps server` process works in every other
(and in every worker of `--workers 2`), sign-out or a revoked token ends it in all of them, and the
store keeps only a digest of the cookie's id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import create_engine, select

import tracking
from tests.support import server as http_support
from tracking.auth.base import Role
from tracking.store import schema as t
from tracking.store.sql_store import SqlStore

COOKIE = "sweeps_session"


@dataclass(frozen=True)
class TwoServers:
    uri: str
    workers: http_support.ServerProcess  # `sweeps server --workers 2`
    other: http_support.ServerProcess  # a second server process on the same store
    token: str


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoServers]:
    root = tmp_path_factory.mktemp("ui-sessions")
    uri, artifacts = f"sqlite:///{root / 'store.db'}", root / "artifacts"
    with tracking.connect(uri, artifacts=str(artifacts)) as client:
        client.start_run(experiment="shared-exp", name="visible").end()
    token, _ = _new_reader(uri, "reader")
    extra = ("--workers", "2")
    with (
        http_support.running(uri, artifacts, root / "logs-a", command="server", extra=extra) as workers,
        http_support.running(uri, artifacts, root / "logs-b", command="server") as other,
    ):
        yield TwoServers(uri, workers, other, token)


def _new_reader(uri: str, user: str) -> tuple[str, str]:
    """A user who may read the experiment: (their token, its id)."""
    with tracking.connect(uri) as client:
        store = client._store
        assert isinstance(store, SqlStore)
        auth = store.auth_store()
        _, token = auth.add_user(user)
        experiment = client.get_experiment_by_name("shared-exp")
        assert experiment is not None
        auth.grant(user, Role.READ, experiment_id=experiment.experiment_id)
        token_id = next(x.token_id for x in auth.tokens() if x.user == user)
    return token, token_id


def _sign_in(server: http_support.ServerProcess, token: str) -> str:
    answer = httpx.post(server.url + "/signin", data={"token": token, "next": "/"}, follow_redirects=False)
    assert answer.status_code == 303
    return answer.cookies[COOKIE]


def _experiments(server: http_support.ServerProcess, cookie: str) -> int:
    # A new connection each time: with two workers, either may take it.
    with httpx.Client(cookies={COOKIE: cookie}) as fresh:
        answer = fresh.get(server.url + "/ui/api/experiments")
    if answer.status_code == 200:
        assert [e["name"] for e in answer.json()["experiments"]] == ["shared-exp"]
    return answer.status_code


def _csrf(server: http_support.ServerProcess, cookie: str) -> str:
    page = httpx.get(server.url + "/", cookies={COOKIE: cookie}).text
    return page.split('name="csrf-token" content="')[1].split('"')[0]


def test_a_session_opened_in_one_process_works_in_all_and_sign_out_ends_it_everywhere(servers: TwoServers) -> None:
    cookie = _sign_in(servers.other, servers.token)
    assert [_experiments(servers.workers, cookie) for _ in range(12)] == [200] * 12
    assert _experiments(servers.other, cookie) == 200
    # The CSRF token is the same whichever process rendered the page.
    assert _csrf(servers.workers, cookie) == _csrf(servers.other, cookie)
    signed_out = httpx.post(
        servers.workers.url + "/signout",
        data={"csrf": _csrf(servers.workers, cookie)},
        cookies={COOKIE: cookie},
        follow_redirects=False,
    )
    assert signed_out.status_code == 303
    assert [_experiments(servers.workers, cookie) for _ in range(6)] == [401] * 6
    assert _experiments(servers.other, cookie) == 401


def test_the_store_keeps_a_digest_of_the_id_and_a_revoked_token_ends_its_sessions(servers: TwoServers) -> None:
    token, token_id = _new_reader(servers.uri, "revoked-later")  # the other test keeps its token
    cookie = _sign_in(servers.workers, token)
    engine = create_engine(servers.uri)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(t.ui_sessions.c.session_hash, t.ui_sessions.c.token_id)).all()
        assert (hashlib.sha256(cookie.encode()).hexdigest(), token_id) in rows
        assert all(cookie not in row[0] for row in rows)
        assert _experiments(servers.other, cookie) == 200
        with tracking.connect(servers.uri) as client:
            store = client._store
            assert isinstance(store, SqlStore)
            store.auth_store().revoke_token(token_id)
        assert _experiments(servers.other, cookie) == 401
        assert _experiments(servers.workers, cookie) == 401
        with engine.connect() as conn:
            hashes = conn.execute(select(t.ui_sessions.c.session_hash)).scalars().all()
        assert hashlib.sha256(cookie.encode()).hexdigest() not in hashes  # its row went with it
    finally:
        engine.dispose()
