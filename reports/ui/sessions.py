"""Browser sessions of ``sweeps server``: a random id in an HttpOnly cookie, the session in the store.

The store keeps only a digest of the id (`tracking.auth.ui_sessions`), so every worker process
knows every session and signing out ends it in all of them. Each session's CSRF token is derived
from its id: any worker computes the same one, and it tells nothing about the id.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from tracking.auth.base import Principal
from tracking.auth.ui_sessions import SqlSessions

COOKIE = "sweeps_session"
_CSRF_LABEL = b"sweeps-ui-csrf"

__all__ = ["COOKIE", "Session", "SqlSessions", "csrf_for", "same_token", "session_of"]


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str


def csrf_for(session_id: str) -> str:
    return hmac.new(session_id.encode(), _CSRF_LABEL, hashlib.sha256).hexdigest()


def session_of(sessions: SqlSessions, session_id: str | None) -> Session | None:
    """The open session of a cookie's id (a store read; run it in the threadpool)."""
    principal = sessions.principal(session_id)
    if principal is None or not session_id:
        return None
    return Session(principal, csrf_for(session_id))


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
