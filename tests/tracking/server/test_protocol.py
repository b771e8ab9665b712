"""The server's protocol over real HTTP: JSON errors, 413 and 400 for bad bodies (never a 500,
nothing stored changed), fuzzing, and retries that never store a point or a run twice."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracking
from tests.tracking.server.conftest import AppServer
from tests.tracking.server.flaky_proxy import flaky
from tracking import wire
from tracking.errors import RunNotFound, StoreUnavailable
from tracking.point_block import PointBlock
from tracking.store.http_store import HttpStore

API = wire.API
LEAKS = ("Traceback", "SELECT", "INSERT", "sqlalchemy", "sqlite3", 'File "')


def snapshot(server: AppServer) -> dict[str, list[tuple]]:
    """Every row of every table of the server's database."""
    path = server.store.uri.partition(":///")[2]
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}


def seeded(server: AppServer) -> str:
    """A RUNNING run with a param, a tag and two points; its id."""
    with tracking.connect(server.url) as client:
        run = client.start_run("seed", params={"alpha": 1}, tags={"team": "a"})
        run.log_metric("loss", 0.5, step=0)
        run.log_metric("loss", 0.4, step=1)
        client.flush()
        return run.run_id


def error_of(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert not any(leak in response.text for leak in LEAKS), response.text
    return body["error"]


def test_health_needs_no_token_and_unknown_routes_answer_json(open_server: AppServer) -> None:
    assert httpx.get(f"{open_server.url}{API}/health").json()["status"] == "ok"
    missing = httpx.get(f"{open_server.url}{API}/nothing-here")
    assert missing.status_code == 404 and error_of(missing)["code"] == "no_such_route"
    wrong = httpx.delete(f"{open_server.url}{API}/experiments")
    assert wrong.status_code == 405 and error_of(wrong)["code"] == "method_not_allowed"


def test_a_body_over_the_limit_is_413_by_its_length_and_while_it_streams(open_server: AppServer) -> None:
    run_id = seeded(open_server)
    before = snapshot(open_server)
    big = PointBlock.from_points([tracking.MetricPoint(run_id, "loss", s, 1.0, 1) for s in range(10, 5_000)])
    frame = wire.encode_frame({}, [big])
    assert len(frame) > 64 * 1024
    declared = httpx.post(f"{open_server.url}{API}/metrics", content=frame, headers={"Content-Type": wire.POINTS_TYPE})
    assert declared.status_code == 413 and error_of(declared)["code"] == "body_too_large"

    def chunks():  # no Content-Length: the server counts as the bytes arrive
        for i in range(0, len(frame), 8192):
            yield frame[i : i + 8192]

    streamed = httpx.post(f"{open_server.url}{API}/metrics", content=chunks())
    assert streamed.status_code == 413 and "limit of 65536 bytes" in error_of(streamed)["message"]
    assert snapshot(open_server) == before
    with (
        tracking.connect(open_server.url) as client,
        pytest.raises(tracking.InvalidParameter, match="over the server's limit"),
    ):
        client._store.write_metric_points([big])  # the client raises the server's reason


def test_a_batch_too_big_for_one_request_goes_in_several(
    open_server: AppServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracking.store import http_store

    monkeypatch.setattr(http_store, "MAX_FRAME_BYTES", 16 * 1024)  # the server takes 64 KiB
    with tracking.connect(open_server.url) as client:
        runs = [client.start_run("big") for _ in range(2)]
        for run in runs:
            client.log_block(
                PointBlock.from_points([tracking.MetricPoint(run.run_id, "a", s, s, 1) for s in range(6000)])
            )
        client.flush()
        client.end_runs(
            [(runs[0].run_id, tracking.RunStatus.FINISHED, None)],
            blocks=[
                PointBlock.from_points([tracking.MetricPoint(runs[0].run_id, "b", s, 1.0, 1) for s in range(9000)])
            ],
        )
        histories = client.metric_histories([r.run_id for r in runs], ["a", "b"])
        assert client.get_run(runs[0].run_id).status is tracking.RunStatus.FINISHED
    assert [len(histories[r.run_id]["a"]) for r in runs] == [6000, 6000]
    assert len(histories[runs[0].run_id]["b"]) == 9000


def _frame_with_bad_steps(run_id: str) -> bytes:
    good = wire.encode_frame({}, [PointBlock.from_points([tracking.MetricPoint(run_id, "loss", 7, 1.0, 1)])])
    return good.replace(b'"n":1', b'"n":2')  # a count the columns do not hold


MALFORMED = [
    ("POST", "/experiments", b"{not json", "application/json", "malformed_request"),
    ("POST", "/experiments", b"[1, 2]", "application/json", "malformed_request"),
    ("POST", "/experiments", b'{"name": 5}', "application/json", "malformed_request"),
    ("POST", "/experiments", b'{"name": "\\ud800"}', "application/json", "malformed_request"),
    ("POST", "/experiments", b"\xff\xfe", "application/json", "malformed_request"),
    ("POST", "/experiments", b'{"name": ""}', "application/json", "invalid_parameter"),
    ("POST", "/runs", b'{"experiment_id": "one"}', "application/json", "malformed_request"),
    ("POST", "/runs/search", b'{"max_results": 10, "filter": "metrics.a >"}', "application/json", "filter_error"),
    ("POST", "/runs/search", b'{"max_results": -1}', "application/json", "invalid_parameter"),
    ("POST", "/runs/RUN/params", b'{"params": {"alpha": "2"}}', "application/json", "param_conflict"),
    ("POST", "/runs/RUN/params", b'{"params": {"k": "a\\u0000b"}}', "application/json", "malformed_request"),
    ("POST", "/runs/with-tag", b'{"key": "k", "value": "a\\u0000"}', "application/json", "malformed_request"),
    ("GET", "/runs/a%00b", b"", "application/json", "run_not_found"),
    ("GET", "/experiments/by-name?name=a%00", b"", "application/json", "malformed_request"),
    ("POST", "/runs/RUN/params", b'{"params": {"k": 1}}', "application/json", "malformed_request"),
    ("POST", "/runs/RUN/tags", b'{"tags": {"": "x"}}', "application/json", "invalid_parameter"),
    ("POST", "/runs/RUN/status", b'{"status": "DONE"}', "application/json", "invalid_parameter"),
    ("GET", "/experiments/abc", b"", "application/json", "malformed_request"),
    ("POST", "/metrics", b"SWPF\x01garbage", wire.POINTS_TYPE, "malformed_request"),
    ("POST", "/metrics", b"not a frame", wire.POINTS_TYPE, "malformed_request"),
    ("POST", "/metrics", _frame_with_bad_steps, wire.POINTS_TYPE, "malformed_request"),
    ("POST", "/runs-end", wire.encode_frame({"ends": "RUN"}, []), wire.POINTS_TYPE, "malformed_request"),
    (
        "POST",
        "/runs-end",
        lambda run: wire.encode_frame({"ends": [[run, "GONE", None]]}, []),
        wire.POINTS_TYPE,
        "invalid_parameter",
    ),
    (
        "POST",
        "/runs-end",
        wire.encode_frame({"ends": [["nope", "FINISHED", None]]}, []),
        wire.POINTS_TYPE,
        "run_not_found",
    ),
    ("PUT", "/runs/RUN/artifacts/%2E%2E/escape.txt", b"x", "application/octet-stream", "invalid_artifact_path"),
    ("PUT", "/runs/RUN/artifacts/%2Fetc/passwd", b"x", "application/octet-stream", "invalid_artifact_path"),
    ("PUT", "/runs/RUN/artifacts/a%5Cb", b"x", "application/octet-stream", "invalid_artifact_path"),
    ("GET", "/runs/RUN/artifacts/%2E%2E/%2E%2E/store.db", b"", "application/json", "invalid_artifact_path"),
    (
        "POST",
        "/models/m/versions",
        b'{"run_id": "RUN", "source": "runs:/other/model"}',
        "application/json",
        "malformed_request",
    ),
    ("PUT", "/models/m/aliases/latest", b'{"version": 1}', "application/json", "registry_error"),
    ("POST", "/runs/RUN/step-blocks", b'{"keys": {"x": [0, 0]}}', "application/json", "malformed_request"),
    ("POST", "/runs/RUN/step-blocks", b'{"keys": {"x": [-1, 8]}}', "application/json", "malformed_request"),
    ("POST", "/runs/RUN/step-blocks", b'{"keys": {"x": [0, 5000]}}', "application/json", "malformed_request"),
    ("POST", "/runs/RUN/step-blocks", b'{"keys": {"x": [true, 8]}}', "application/json", "malformed_request"),
    ("POST", "/runs/RUN/step-blocks", b'{"keys": {"": [0, 8]}}', "application/json", "invalid_parameter"),
    ("POST", "/runs/RUN/step-blocks/release", b'{"keys": []}', "application/json", "malformed_request"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "kind", "code"), MALFORMED, ids=[f"{m[0]} {m[1]} {m[4]}" for m in MALFORMED]
)
def test_a_bad_request_is_a_4xx_naming_the_problem_and_changes_nothing(
    open_server: AppServer, method: str, path: str, body: bytes | Callable[[str], bytes], kind: str, code: str
) -> None:
    run_id = seeded(open_server)
    content = body(run_id) if callable(body) else body.replace(b"RUN", run_id.encode())
    before = snapshot(open_server)
    files = sorted(p for p in open_server.artifact_root.parent.rglob("*"))
    response = httpx.request(
        method, f"{open_server.url}{API}{path.replace('RUN', run_id)}", content=content, headers={"Content-Type": kind}
    )
    assert 400 <= response.status_code < 500, response.text
    assert error_of(response)["code"] == code
    assert snapshot(open_server) == before
    assert sorted(p for p in open_server.artifact_root.parent.rglob("*")) == files  # nothing written anywhere


# Finite floats: JSON has no infinity (a frame's JSON head refuses to encode one); raw bytes
# cover whatever a client could send instead.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
FUZZ_ROUTES = [
    ("POST", "/experiments"),
    ("POST", "/runs"),
    ("POST", "/runs/get"),
    ("POST", "/runs/search"),
    ("POST", "/runs/with-tag"),
    ("POST", "/runs/RUN/params"),
    ("POST", "/runs/RUN/tags"),
    ("POST", "/runs/RUN/tags/delete"),
    ("POST", "/runs/RUN/status"),
    ("POST", "/runs/RUN/next-steps"),
    ("POST", "/runs/RUN/step-blocks"),
    ("POST", "/runs/RUN/step-blocks/release"),
    ("POST", "/metrics/histories"),
    ("POST", "/metrics"),
    ("POST", "/runs-end"),
    ("POST", "/models"),
    ("POST", "/models/m/versions"),
    ("PUT", "/models/m/aliases/champion"),
    ("POST", "/models/m/versions/1/stage"),
    ("POST", "/models/m/promotion"),
    ("POST", "/grants"),
]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(FUZZ_ROUTES),
    field_names=st.lists(
        st.sampled_from(
            [
                "name",
                "experiment_id",
                "run_ids",
                "params",
                "tags",
                "key",
                "value",
                "status",
                "keys",
                "at_least",
                "max_results",
                "filter",
                "order_by",
                "experiment_ids",
                "run_id",
                "source",
                "version",
                "stage",
                "decision",
                "ends",
                "user",
                "role",
            ]
        ),
        max_size=5,
    ),
    values=st.lists(json_values, min_size=5, max_size=5),
    raw=st.none() | st.binary(max_size=64),
)
def test_fuzzed_requests_never_get_a_500_nor_leak_internals(
    open_server: AppServer, route: tuple[str, str], field_names: list[str], values: list[object], raw: bytes | None
) -> None:
    method, path = route
    run_id = getattr(open_server, "_fuzz_run", None) or seeded(open_server)
    open_server._fuzz_run = run_id  # type: ignore[attr-defined]
    if raw is not None:
        content = raw
    elif path in ("/metrics", "/runs-end"):
        content = wire.encode_frame(dict(zip(field_names, values, strict=False)), [])
    else:
        content = json.dumps(dict(zip(field_names, values, strict=False))).encode()
    response = httpx.request(method, f"{open_server.url}{API}{path.replace('RUN', run_id)}", content=content)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error_of(response)


def test_an_unexpected_failure_is_a_plain_500_with_an_incident_id_and_a_masked_log(
    open_server: AppServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("SELECT * FROM users -- postgresql://admin:hunter2@db/x")

    monkeypatch.setattr(open_server.store, "list_experiments", broken)
    with caplog.at_level(logging.ERROR, logger="tracking.server"):
        response = httpx.get(f"{open_server.url}{API}/experiments")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal_error" and "hunter2" not in response.text and "incident" in error["message"]
    assert "hunter2" not in caplog.text and "SELECT * FROM users" in caplog.text  # details stay in the log


def test_a_points_batch_whose_answer_was_lost_is_retried_and_stored_once(open_server: AppServer) -> None:
    run_id = seeded(open_server)
    drop_first = lambda method, path, n: "drop" if path == f"{API}/metrics" and n <= 2 else "pass"  # noqa: E731
    with flaky(open_server.url, drop_first) as proxy, tracking.connect(proxy.url) as client:
        client.log_block(
            PointBlock.from_points([tracking.MetricPoint(run_id, "loss", s, s / 10, 5) for s in range(2, 50)])
        )
        client.flush()
        assert proxy.forwarded[("POST", f"{API}/metrics")] == 3  # the server got the batch three times
        history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == list(range(50))  # each point once
    assert [m.value for m in history][:2] == [0.5, 0.4]  # first-wins: the seeded points stand


def test_a_run_whose_answer_was_lost_is_created_once_and_returned(open_server: AppServer) -> None:
    drop = lambda method, path, n: "drop" if path == f"{API}/runs" and n == 1 else "pass"  # noqa: E731
    with flaky(open_server.url, drop) as proxy, tracking.connect(proxy.url) as client:
        run = client.start_run("retry", run_id="chosen-by-me", tags={"t": "1"})
        assert proxy.forwarded[("POST", f"{API}/runs")] == 2
        assert run.run_id == "chosen-by-me" and run.info.tags["t"] == "1"
        with pytest.raises(tracking.RunExists):  # a second start with that id is still refused
            client.start_run("retry", run_id="chosen-by-me")
        automatic = client.start_run("retry")  # an id the client chose itself
    assert open_server.store.count_runs() == 2
    assert {r.run_id for r in open_server.store.search_runs([], None, [], 10)} == {"chosen-by-me", automatic.run_id}


def test_503_is_retried_until_the_deadline_then_store_unavailable(open_server: AppServer) -> None:
    seeded(open_server)
    twice = lambda method, path, n: "503" if path == f"{API}/experiments" and n <= 2 else "pass"  # noqa: E731
    with flaky(open_server.url, twice) as proxy, tracking.connect(proxy.url) as client:
        assert [e.name for e in client.list_experiments()] == ["seed"]
        assert proxy.seen[("GET", f"{API}/experiments")] == 3
    always = lambda method, path, n: "503" if path == f"{API}/experiments" else "pass"  # noqa: E731
    with flaky(open_server.url, always) as proxy:
        store = HttpStore(proxy.url, retry_for_s=0.5)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="proxy says later"):
            store.list_experiments()
        assert time.monotonic() - started < 5
        store.close()


def test_an_unreachable_server_is_store_unavailable_naming_it() -> None:
    from tests.support.server import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailable, match=f"{url} cannot be reached"):
        HttpStore(url, retry_for_s=0.3)


def test_a_closed_http_store_refuses_calls(open_server: AppServer) -> None:
    store = HttpStore(open_server.url)
    store.close()
    with pytest.raises(tracking.StoreError, match="closed"):
        store.list_experiments()


def test_an_unknown_run_is_404_with_the_stores_message(open_server: AppServer) -> None:
    with tracking.connect(open_server.url) as client, pytest.raises(RunNotFound, match="no run with id 'ghost'"):
        client.get_run("ghost")
    response = httpx.post(
        f"{open_server.url}{API}/metrics",
        content=wire.encode_frame({}, [PointBlock.from_points([tracking.MetricPoint("ghost", "a", 0, 1.0, 1)])]),
    )
    assert response.status_code == 404 and error_of(response)["code"] == "run_not_found"
