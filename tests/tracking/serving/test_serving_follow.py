"""Following ``@champion``: a moved alias is loaded, checked, warmed and swapped in without a failed request;
a version that fails its hash check is never served; the same over a `sweeps server` with a token."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import tracking
from tests.support import server as http_support
from tests.support.server import ServerProcess
from tests.tracking.serving.support import iris_tree, register, rows, scoring_server, tamper, wait_for
from tracking import TrackingClient
from tracking.store.sql_store import SqlStore

CLIENTS = 4
BODY = {"instances": rows(2).tolist()}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, TrackingClient]]:
    """``iris`` v1, v2 (good) and v3 (payload tampered after registration); @champion on v1."""
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with tracking.connect(uri, artifacts=str(tmp_path / "artifacts")) as client:
        for depth in (1, 2, 3):
            register(client, "iris", iris_tree(depth), rows(5))
        tamper(client, "iris", 3)
        client.registry.set_alias("iris", "champion", 1)
        yield uri, client


def version_of(server: ServerProcess) -> dict[str, object]:
    return httpx.get(f"{server.url}/version", timeout=10).json()  # type: ignore[no-any-return]


class Stream:
    """Several clients scoring in a loop, each on its own connection; counts answers by version."""

    def __init__(self, url: str, clients: int = CLIENTS) -> None:
        self.url = url
        self.versions: Counter[str] = Counter()
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(clients)]

    def __enter__(self) -> Stream:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def count(self, version: str) -> int:
        with self._lock:
            return self.versions[version]

    def _loop(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self._stop.is_set():
                try:
                    answer = http.post(f"{self.url}/invocations", json=BODY)
                    outcome = answer.headers.get("x-model-version", "?") if answer.status_code == 200 else None
                    failure = None if outcome else f"HTTP {answer.status_code}: {answer.text[:200]}"
                except httpx.HTTPError as exc:
                    outcome, failure = None, f"{type(exc).__name__}: {exc}"
                with self._lock:
                    if outcome:
                        self.versions[outcome] += 1
                    else:
                        self.failures.append(failure or "?")


def test_moving_champion_under_load_swaps_versions_without_a_failed_request(
    store: tuple[str, TrackingClient], tmp_path: Path
) -> None:
    uri, client = store
    with (
        scoring_server("models:/iris@champion", uri, tmp_path, extra=("--poll-interval", "0.2")) as server,
        Stream(server.url) as stream,
    ):
        wait_for(lambda: stream.count("1") >= 20, "answers from v1")
        for target in ("2", "1", "2"):
            client.registry.set_alias("iris", "champion", int(target))
            before = stream.count(target)
            wait_for(lambda t=target, b=before: stream.count(t) >= b + 20, f"answers from v{target}")  # type: ignore[misc]
        assert version_of(server)["version"] == 2
    assert stream.failures == [], stream.failures[:5]
    assert stream.versions["1"] >= 40 and stream.versions["2"] >= 40 and set(stream.versions) == {"1", "2"}
    assert "now serving v2" in server.output() and "now serving v1" in server.output()


def test_a_tampered_version_is_never_served_and_the_old_one_keeps_answering(
    store: tuple[str, TrackingClient], tmp_path: Path
) -> None:
    uri, client = store
    with (
        scoring_server("models:/iris@champion", uri, tmp_path, extra=("--poll-interval", "0.2")) as server,
        Stream(server.url, clients=2) as stream,
    ):
        wait_for(lambda: stream.count("1") >= 10, "answers from v1")
        client.registry.set_alias("iris", "champion", 3)
        wait_for(lambda: (version_of(server)["last_error"] or {}).get("version") == 3, "the failed swap in /version")
        status = version_of(server)
        assert status["version"] == 1 and status["alias"] == "champion"
        assert "does not match its recorded hash" in status["last_error"]["error"]  # type: ignore[index]
        served = stream.count("1")
        wait_for(lambda: stream.count("1") >= served + 20, "v1 answering after the refused swap")

        client.registry.set_alias("iris", "champion", 2)  # a good version after a bad one is swapped in
        wait_for(lambda: stream.count("2") >= 10, "answers from v2")
        assert version_of(server)["last_error"] is None
    assert stream.failures == [] and "3" not in stream.versions
    assert "v3 was not swapped in" in server.output()


def test_each_worker_process_follows_the_alias(store: tuple[str, TrackingClient], tmp_path: Path) -> None:
    uri, client = store
    extra = ("--workers", "2", "--poll-interval", "0.2")
    seen: dict[int, object] = {}  # worker pid -> the version it last reported

    def ask() -> None:
        # A new connection per request, so that both worker processes get to answer.
        status = httpx.get(f"{server.url}/version", headers={"Connection": "close"}, timeout=10).json()
        seen[status["pid"]] = status["version"]

    with scoring_server("models:/iris@champion", uri, tmp_path, extra=extra) as server:
        wait_for(lambda: ask() or len(seen) == 2, "answers from both worker processes", timeout_s=60)
        assert set(seen.values()) == {1}
        client.registry.set_alias("iris", "champion", 2)
        wait_for(lambda: ask() or set(seen.values()) == {2}, "both workers on v2", timeout_s=60)
        assert len(seen) == 2


def test_serving_from_a_sweeps_server_with_a_token(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'team.db'}"
    owner = SqlStore(uri)
    try:
        _, token = owner.auth_store().add_user("deployer", admin=True)
    finally:
        owner.close()
    with (
        http_support.running(uri, tmp_path / "server-artifacts", tmp_path, command="server") as team,
        tracking.connect(team.url, token=token) as client,
    ):
        register(client, "iris", iris_tree(1), rows(5))
        register(client, "iris", iris_tree(3), rows(5))
        client.registry.set_alias("iris", "champion", 1)
        with (
            pytest.raises(http_support.ServerFailed, match="token"),
            scoring_server("models:/iris@champion", team.url, tmp_path, env={"SWEEPS_TOKEN": ""}),
        ):
            pass
        env = {"SWEEPS_TOKEN": token}
        extra = ("--poll-interval", "0.2")
        with scoring_server("models:/iris@champion", team.url, tmp_path, extra=extra, env=env) as server:
            answer = httpx.post(f"{server.url}/invocations", json=BODY)
            assert answer.status_code == 200 and answer.headers["x-model-version"] == "1"
            client.registry.set_alias("iris", "champion", 2)
            wait_for(lambda: version_of(server)["version"] == 2, "the swap to v2 through the server")
            answer = httpx.post(f"{server.url}/invocations", json=BODY)
            assert answer.json() == {"predictions": iris_tree(3).predict(rows(2)).tolist()}
        assert token not in server.output()
