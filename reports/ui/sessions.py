"""Browser sessions of ``sweeps server``: a random id in an HttpOnly cookie, the rest in this process.

The cookie holds only a random session id; the server keeps the token it was opened with (in
memory, never in the store or a log) so that every request re-checks it: a revoked or expired
token ends its sessions at once. Each session has its own CSRF token for actions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

COOKIE = "sweeps_session"
IDLE_S = 12 * 3600  # a session nobody used for this long is gone
_MAX_SESSIONS = 10_000


@dataclass
class Session:
    token: str  # the bearer token it was opened with: re-checked on every request
    csrf: str
    last_seen: float


class Sessions:
    """Open sessions keyed by a digest of their id (a memory dump shows no usable cookie)."""

    def __init__(self) -> None:
        self._open: dict[str, Session] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(session_id: str) -> str:
        return hashlib.sha256(session_id.encode()).hexdigest()

    def open(self, token: str) -> tuple[str, Session]:
        session_id = secrets.token_urlsafe(32)
        session = Session(token, secrets.token_urlsafe(32), time.monotonic())
        with self._lock:
            if len(self._open) >= _MAX_SESSIONS:
                self._expire(time.monotonic())
            if len(self._open) >= _MAX_SESSIONS:  # still full: the oldest goes
                oldest = min(self._open, key=lambda k: self._open[k].last_seen)
                del self._open[oldest]
            self._open[self._key(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._open.get(self._key(session_id))
            if session is None:
                return None
            if now - session.last_seen > IDLE_S:
                del self._open[self._key(session_id)]
                return None
            session.last_seen = now
            return session

    def end(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._open.pop(self._key(session_id), None)

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._open.items() if now - s.last_seen > IDLE_S]:
            del self._open[key]


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
