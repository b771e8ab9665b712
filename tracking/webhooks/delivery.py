"""Delivering queued webhook events: signed POSTs, retried with backoff (then given up), off the registry call's path.

A `Deliverer` runs in a daemon thread of the process that caused an event (``kick``), lets a
command wait a bounded time before it exits (``drain``), and serves a ``sweeps server``'s loop
(``run_forever``) for whatever is left in the outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time

import httpx

from tracking.errors import TrackingError
from tracking.uri import mask_password
from tracking.webhooks.entities import PendingEvent
from tracking.webhooks.outbox import OutboxStore

SIGNATURE_HEADER = "X-Sweeps-Signature"
DELIVERY_HEADER = "X-Sweeps-Delivery"
# An event is retried, further and further apart, for this long after it was queued; then it
# is given up (kept as a dead letter for `redeliver`). At least MIN_ATTEMPTS are always made,
# so events queued while every deliverer was down are not given up at the first refusal.
GIVE_UP_AFTER_S = 3 * 24 * 3600.0
MIN_ATTEMPTS = 5
_log = logging.getLogger(__name__)


def sign(body: bytes, secret: str) -> str:
    """The signature header's value: ``sha256=<hex HMAC-SHA256 of the body under the secret>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _now_ms() -> int:
    return int(time.time() * 1000)


class Deliverer:
    """Delivers due events of one outbox; several deliverers (processes) may share it safely.

    ``since_ms`` limits it to events created from then on (a CLI command waits only for its own);
    None takes every pending event (the server).
    """

    def __init__(
        self,
        outbox: OutboxStore,
        *,
        since_ms: int | None = None,
        timeout_s: float = 5.0,
        backoff_s: float = 1.0,
        max_backoff_s: float = 600.0,
        give_up_after_s: float = GIVE_UP_AFTER_S,
        batch: int = 50,
    ) -> None:
        self._outbox = outbox
        self._since = since_ms
        self._timeout_s = timeout_s
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._give_up_after_ms = int(give_up_after_s * 1000)
        self._batch = batch
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Deliverer({self._outbox!r})"

    # -- one pass -------------------------------------------------------------------------

    def deliver_due(self) -> int:
        """Attempt every due event once; the number delivered. Never raises for a delivery problem."""
        # A claim lasts past the request's timeout, so a slow receiver is not sent the event twice.
        lease_ms = int((self._timeout_s + 5) * 1000)
        try:
            claimed = self._outbox.claim_events(
                now_ms=_now_ms(), lease_ms=lease_ms, limit=self._batch, since_ms=self._since
            )
        except TrackingError as exc:
            _log.warning("webhook outbox unreadable: %s", exc)
            return 0
        delivered = 0
        with httpx.Client(timeout=self._timeout_s, follow_redirects=False) as http:
            for event in claimed:
                delivered += self._attempt(http, event)
        return delivered

    def _attempt(self, http: httpx.Client, event: PendingEvent) -> int:
        body = event.payload.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, event.secret),
            DELIVERY_HEADER: str(event.event_id),
        }
        error: str | None = None
        try:
            answer = http.post(event.url, content=body, headers=headers)
            if not 200 <= answer.status_code < 300:
                error = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        try:
            if error is None:
                return int(self._outbox.mark_delivered(event.event_id, at_ms=_now_ms()))
            now = _now_ms()
            delay = min(self._backoff_s * 2 ** max(event.attempts - 1, 0), self._max_backoff_s)
            give_up = event.attempts >= MIN_ATTEMPTS and now - event.created_at >= self._give_up_after_ms
            self._outbox.mark_failed(event.event_id, retry_at_ms=now + int(delay * 1000), error=error, give_up=give_up)
            if give_up:
                _log.warning(
                    "webhook event %s to %s given up after %d attempts (last: %s); "
                    "`sweeps models webhook redeliver` queues it again",
                    event.event_id,
                    mask_password(event.url),
                    event.attempts,
                    error,
                )
        except TrackingError as exc:
            _log.warning("webhook event %s: could not record the attempt: %s", event.event_id, exc)
        return 0

    # -- in the background ----------------------------------------------------------------------

    def kick(self) -> None:
        """Deliver soon, in a daemon thread (started on first use); returns at once."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="sweeps-webhooks", daemon=True)
                self._thread.start()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.deliver_due()
            wait = self._wait_s()
            if wait is None:
                # Nothing left: sleep until the next kick (or stop).
                self._wake.wait()
            else:
                self._wake.wait(wait)

    def _wait_s(self, cap_s: float = 1.0) -> float | None:
        try:
            due = self._outbox.next_attempt_ms(since_ms=self._since)
        except TrackingError:
            return cap_s
        if due is None:
            return None
        return max(0.0, min(cap_s, (due - _now_ms()) / 1000))

    def drain(self, timeout_s: float) -> int:
        """Deliver until nothing is pending or ``timeout_s`` passed; how many are still pending."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.deliver_due()
            try:
                left = self._outbox.pending_events(since_ms=self._since)
            except TrackingError:
                return -1
            wait = self._wait_s(cap_s=0.2)
            if left == 0 or wait is None or time.monotonic() + wait >= deadline:
                return left
            self._stop.wait(wait)

    def run_forever(self, stop: threading.Event, poll_s: float = 1.0) -> None:
        """The server's loop: deliver whatever is due until ``stop`` is set."""
        while not stop.is_set():
            self.deliver_due()
            wait = self._wait_s(cap_s=poll_s)
            stop.wait(poll_s if wait is None else max(wait, 0.05))

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout_s + 1)


def start_background_delivery(outbox: object, *, poll_s: float = 1.0) -> threading.Event | None:
    """A daemon thread delivering every pending event of ``outbox`` until the returned event is set.

    None when ``outbox`` keeps no outbox (a server always serves a SQL store, which does).
    """
    if not isinstance(outbox, OutboxStore):
        return None
    stop = threading.Event()
    deliverer = Deliverer(outbox)
    thread = threading.Thread(
        target=deliverer.run_forever, args=(stop, poll_s), name="sweeps-webhook-outbox", daemon=True
    )
    thread.start()
    return stop
