"""Registry webhooks with a real HTTP receiver on loopback: signed, durable, retried, delivered once."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

import tracking
from tests.conftest import SQL_STORE_PARAMS
from tests.support.polling import wait_until
from tests.support.server import free_port
from tracking import RegistryError, TrackingClient
from tracking.store import Store, open_store
from tracking.store import schema as t
from tracking.webhooks.delivery import Deliverer

SECRET = "s3cr3t-signing-key"


class Receiver:
    """A loopback HTTP server recording every POST; answers 200."""

    def __init__(self, port: int = 0) -> None:
        received: list[tuple[dict[str, str], bytes]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


class Constant:
    def predict(self, rows: list[list[float]]) -> list[float]:
        return [1.0 for _ in rows]


def model_run(client: TrackingClient) -> str:
    with client.start_run(experiment="w") as run:
        run.log_model(Constant(), input_example=[[1.0]])
    return run.run_id


def verify(headers: dict[str, str], body: bytes) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-sweeps-signature"], expected)


def test_each_change_posts_one_signed_event(client: TrackingClient, receiver: Receiver) -> None:
    run_id = model_run(client)
    client.registry.register_model("m", run_id)
    hook = client.registry.add_webhook("m", receiver.url, SECRET, "register,alias")
    assert [w.webhook_id for w in client.registry.list_webhooks("m")] == [hook.webhook_id]

    client.registry.register_model("m", run_id)
    client.registry.set_alias("m", "champion", 2, reason="ship", actor="alice")
    client.registry.transition_stage("m", 2, "Production")  # not subscribed: no event
    # In this process on a SQL store; over HTTP the server delivers from its outbox.
    assert client.registry.deliver_webhooks(timeout_s=10) == 0
    wait_until(lambda: len(receiver.received) >= 2, timeout_s=20)
    events = sorted((json.loads(body) for _, body in receiver.received), key=lambda e: e["audit_id"])
    assert [(e["event"], e["version"]) for e in events] == [("register", 2), ("alias", 2)]
    assert events[1]["subject"] == "champion" and events[1]["actor"] == "alice" and events[1]["reason"] == "ship"
    assert all(verify(h, body) for h, body in receiver.received)
    assert SECRET not in " ".join(str(h) + body.decode() for h, body in receiver.received)

    # A later event arrives alone: the ones delivered before are not sent again.
    client.registry.set_alias("m", "challenger", 1)
    client.registry.deliver_webhooks(timeout_s=10)
    wait_until(lambda: len(receiver.received) >= 3, timeout_s=20)
    client.registry.deliver_webhooks(timeout_s=1)
    ids = [json.loads(body)["audit_id"] for _, body in receiver.received]
    assert len(ids) == len(set(ids)) == 3


@pytest.mark.parametrize("store_uri", SQL_STORE_PARAMS, indirect=True)
def test_a_receiver_that_is_down_gets_the_event_once_it_is_back(store: Store, client: TrackingClient) -> None:
    port = free_port()
    run_id = model_run(client)
    client.registry.register_model("m", run_id)
    client.registry.add_webhook("m", f"http://127.0.0.1:{port}/hook", SECRET, ["alias"])
    client.registry.set_alias("m", "champion", 1)
    # Stop the registry's own background deliverer: one that failed a few times while the
    # receiver was down backs off for seconds, and this test drives delivery itself.
    client.registry.close()
    outbox = store.registry_store()
    fast = Deliverer(outbox, backoff_s=0.05, timeout_s=2)  # type: ignore[arg-type]
    assert fast.deliver_due() == 0  # connection refused: kept for a retry
    assert outbox.pending_events(since_ms=None) == 1  # type: ignore[attr-defined]

    back = Receiver(port)
    try:
        assert fast.drain(timeout_s=10) == 0
        assert len(back.received) == 1
        assert verify(*back.received[0]) and json.loads(back.received[0][1])["subject"] == "champion"
    finally:
        back.close()


_CRASH = """
import os, sys, tracking
client = tracking.connect(sys.argv[1], artifacts=sys.argv[2])
client.registry.set_alias("m", "champion", 1, reason="before the crash")
os._exit(0)  # no drain, no close: whatever was queued must survive in the store
"""


def test_an_event_survives_a_crash_of_the_process_that_caused_it(
    sqlite_uri: str, tmp_path: Path, receiver: Receiver
) -> None:
    artifacts = str(tmp_path / "artifacts")
    with tracking.connect(sqlite_uri, artifacts=artifacts) as client:
        client.registry.register_model("m", model_run(client))
        # A port nobody listens on: the crashing process cannot deliver.
        client.registry.add_webhook("m", f"http://127.0.0.1:{free_port()}/hook", SECRET, "alias")
    done = subprocess.run([sys.executable, "-c", _CRASH, sqlite_uri, artifacts], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    engine = sa.create_engine(sqlite_uri)
    with engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.webhook_outbox)).scalar() == 1
        # Point the subscription at the receiver that is up now (the URL is not secret).
        conn.execute(sa.update(t.webhooks).values(url=receiver.url))
    engine.dispose()
    store = open_store(sqlite_uri)  # the store's outbox, as a server reads it
    try:
        assert Deliverer(store.registry_store(), backoff_s=0.01).drain(timeout_s=10) == 0  # type: ignore[arg-type]
    finally:
        store.close()
    assert len(receiver.received) == 1
    assert json.loads(receiver.received[0][1])["reason"] == "before the crash"


def test_the_secret_is_sealed_in_the_store_and_never_listed(sqlite_uri: str, tmp_path: Path) -> None:
    with tracking.connect(sqlite_uri, artifacts=str(tmp_path / "a")) as client:
        client.registry.register_model("m", model_run(client))
        hook = client.registry.add_webhook("m", "https://example.invalid/hook", SECRET)
        listed = client.registry.list_webhooks("m")
    assert SECRET not in repr(hook) and SECRET not in repr(listed)
    database = Path(sqlite_uri.removeprefix("sqlite:///"))
    assert SECRET.encode() not in database.read_bytes()
    key = database.with_name(database.name + ".webhook-key")
    assert key.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "http://", "example.com/hook"])
def test_a_webhook_url_that_is_not_http_is_refused_and_nothing_is_stored(client: TrackingClient, url: str) -> None:
    client.registry.register_model("m", model_run(client))
    with pytest.raises(RegistryError, match="must be an http:// or https:// URL"):
        client.registry.add_webhook("m", url, SECRET)
    with pytest.raises(RegistryError, match="unknown webhook event"):
        client.registry.add_webhook("m", "http://127.0.0.1:1/x", SECRET, "register,deploy")
    assert client.registry.list_webhooks("m") == []


def test_a_webhook_is_removed_with_its_undelivered_events(client: TrackingClient, receiver: Receiver) -> None:
    client.registry.register_model("m", model_run(client))
    hook = client.registry.add_webhook("m", receiver.url, SECRET)
    client.registry.remove_webhook("m", hook.webhook_id)
    with pytest.raises(tracking.ModelNotFound, match="no webhook"):
        client.registry.remove_webhook("m", hook.webhook_id)
    client.registry.set_alias("m", "champion", 1)
    client.registry.deliver_webhooks(timeout_s=1)
    assert receiver.received == []


@pytest.mark.parametrize("store_uri", SQL_STORE_PARAMS, indirect=True)
def test_an_event_is_given_up_after_its_retry_period_and_redelivered_once_on_request(
    store: Store, client: TrackingClient, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    client.registry.register_model("m", model_run(client))
    hook = client.registry.add_webhook("m", f"http://127.0.0.1:{port}/hook", SECRET, ["alias"])
    client.registry.set_alias("m", "champion", 1, reason="ship")
    client.registry.close()  # this test drives delivery itself
    outbox = store.registry_store()
    # A retry period of zero: given up as soon as the minimum number of attempts failed.
    quick = Deliverer(outbox, backoff_s=0.001, timeout_s=2, give_up_after_s=0)  # type: ignore[arg-type]
    with caplog.at_level("WARNING", logger="tracking.webhooks.delivery"):
        assert quick.drain(timeout_s=30) == 0  # nothing pending: given up, not lost
    assert "given up after 5 attempts" in caplog.text
    (listed,) = client.registry.list_webhooks("m")
    assert listed.deliveries is not None
    assert (listed.deliveries.pending, listed.deliveries.given_up, listed.deliveries.delivered) == (0, 1, 0)
    assert "ConnectError" in (listed.deliveries.last_error or "")
    assert quick.deliver_due() == 0  # a given-up event is not tried again by itself

    with pytest.raises(tracking.ModelNotFound, match="no webhook 999"):
        client.registry.redeliver_webhook("m", 999)
    back = Receiver(port)
    try:
        assert client.registry.redeliver_webhook("m", hook.webhook_id, actor="ops") == 1
        client.registry.close()
        assert Deliverer(outbox, backoff_s=0.001, timeout_s=2).drain(timeout_s=10) == 0  # type: ignore[arg-type]
        assert client.registry.redeliver_webhook("m", hook.webhook_id) == 0  # nothing left to requeue
        assert len(back.received) == 1
        assert verify(*back.received[0]) and json.loads(back.received[0][1])["reason"] == "ship"
    finally:
        back.close()
    (listed,) = client.registry.list_webhooks("m")
    assert listed.deliveries is not None
    assert (listed.deliveries.pending, listed.deliveries.given_up, listed.deliveries.delivered) == (0, 0, 1)
    audit = [e for e in client.registry.audit_log("m") if e.action == "webhook"]
    assert [(e.subject, e.actor) for e in audit if e.subject == "redeliver"] == [("redeliver", "ops")]
