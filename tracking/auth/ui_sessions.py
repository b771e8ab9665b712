"""The UI's browser sessions in the store (migration 0006): every worker process sees the same ones.

A session id is 256 random bits, handed to the browser once in an HttpOnly cookie; the store
keeps only its SHA-256 (a leaked table opens no session) and the id of the token signed in
with, whose row is checked on every request: revoking or expiring the token ends its sessions.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import Connection, Engine, delete, insert, or_, select, update

from tracking.auth.base import Principal
from tracking.store import schema as t
from tracking.store.engine import read_connection, with_retries

IDLE_MS = 12 * 3_600_000  # a session nobody used for this long is gone
MAX_AGE_MS = 7 * 86_400_000  # and any session after a week: sign in again
# last_seen_at is written at most this often per session: a page's requests stay reads.
TOUCH_EVERY_MS = 60_000


def _now_ms() -> int:
    return int(time.time() * 1000)


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SqlSessions:
    """Open, find and end sessions; each call is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def open(self, token_id: str) -> str:
        """A new session for a token already authenticated; returns its id (for the cookie only)."""
        session_id = secrets.token_urlsafe(32)
        now = _now_ms()
        s = t.ui_sessions

        def work(conn: Connection) -> None:
            # Ended sessions go when a new one starts: the table holds live ones only.
            conn.execute(delete(s).where(or_(s.c.expires_at <= now, s.c.last_seen_at <= now - IDLE_MS)))
            conn.execute(
                insert(s).values(
                    session_hash=digest(session_id),
                    token_id=token_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + MAX_AGE_MS,
                )
            )

        with_retries(self._engine, work)
        return session_id

    def principal(self, session_id: str | None) -> Principal | None:
        """Who the session is signed in as; None when it ended, went idle, or its token is no longer valid."""
        if not session_id:
            return None
        now = _now_ms()
        key = digest(session_id)
        s, tok, users = t.ui_sessions.c, t.auth_tokens.c, t.auth_users.c
        stmt = (
            select(s.expires_at, s.last_seen_at, tok.revoked_at, tok.expires_at, users.name, users.admin, s.token_id)
            .select_from(t.ui_sessions)
            .outerjoin(t.auth_tokens, tok.token_id == s.token_id)
            .outerjoin(t.auth_users, users.name == tok.user_name)
            .where(s.session_hash == key)
        )
        with read_connection(self._engine) as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None  # no such session: nothing to write (a made-up cookie costs one read)
        ends, seen, revoked, token_ends, user, admin, token_id = row
        valid = ends > now and seen > now - IDLE_MS and user is not None and revoked is None
        if not valid or (token_ends is not None and token_ends <= now):
            self.end(session_id)  # signed out by time or by its token's revocation or expiry
            return None
        if now - int(seen) >= TOUCH_EVERY_MS:
            self._touch(key, now)
        return Principal(user, bool(admin), token_id)

    def _touch(self, key: str, now: int) -> None:
        s = t.ui_sessions
        with_retries(
            self._engine, lambda conn: conn.execute(update(s).where(s.c.session_hash == key).values(last_seen_at=now))
        )

    def end(self, session_id: str | None) -> None:
        """Sign-out: the session is gone for every worker at its next request."""
        if session_id:
            key = digest(session_id)
            s = t.ui_sessions
            with_retries(self._engine, lambda conn: conn.execute(delete(s).where(s.c.session_hash == key)))
