"""Users, tokens, grants and protected aliases in the store's own database (migration 0003).

`SqlAuth` is what both `sweeps auth` (the store's owner, directly on the database) and the
server's authorizer use; each method is one transaction.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection, Engine, and_, delete, insert, select, update

from tracking.auth.base import Role
from tracking.auth.tokens import NewToken, new_token
from tracking.errors import InvalidParameter
from tracking.limits import KEY_LEN
from tracking.store import schema as t
from tracking.store.engine import read_connection

T = TypeVar("T")
Write = Callable[[Callable[[Connection], T]], T]

EXPERIMENT, MODEL = "experiment", "model"  # the scopes of a grant
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*")
_DAY_MS = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class User:
    name: str
    admin: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token's row: never its secret."""

    token_id: str
    user: str
    created_at: int
    expires_at: int | None
    revoked_at: int | None

    def state(self, at_ms: int) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= at_ms:
            return "expired"
        return "active"


@dataclass(frozen=True, slots=True)
class Grant:
    user: str
    scope: str  # EXPERIMENT or MODEL
    target: str  # the experiment's id as text, or the model's name
    role: Role


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """What authenticating a token needs from its row."""

    user: str
    admin: bool
    secret_hash: str
    expires_at: int | None
    revoked_at: int | None


def check_user_name(name: str) -> str:
    if not isinstance(name, str) or len(name) > KEY_LEN or not _USER_NAME.fullmatch(name):
        raise InvalidParameter(
            f"invalid user name {name!r}: letters, digits and . _ @ + - (starting with a letter or digit), "
            f"at most {KEY_LEN} characters"
        )
    return name


def _target(experiment_id: int | None, model_name: str | None) -> tuple[str, str]:
    if (experiment_id is None) == (model_name is None):
        raise InvalidParameter("a grant is on exactly one experiment or one registered model")
    return (EXPERIMENT, str(experiment_id)) if experiment_id is not None else (MODEL, str(model_name))


class SqlAuth:
    """The auth tables of one store; built by ``SqlStore.auth_store()``."""

    def __init__(self, engine: Engine, write: Write) -> None:
        self._engine = engine
        self._write = write

    def _read(self, work: Callable[[Connection], T]) -> T:
        with read_connection(self._engine) as conn:
            return work(conn)

    # -- users and tokens -------------------------------------------------------------------

    def add_user(self, name: str, *, admin: bool = False, expires_days: float | None = None) -> tuple[User, str]:
        """A new user and their first token; returns the token's text (shown once, never stored)."""
        check_user_name(name)
        token, expires = new_token(), _expiry(expires_days)
        at = now_ms()

        def work(conn: Connection) -> None:
            if conn.execute(select(t.auth_users.c.name).where(t.auth_users.c.name == name)).first() is not None:
                raise InvalidParameter(f"user {name!r} exists already; `sweeps auth token add {name}` gives a token")
            conn.execute(insert(t.auth_users).values(name=name, admin=int(admin), created_at=at))
            conn.execute(insert(t.auth_tokens).values(_token_row(token, name, at, expires)))

        self._write(work)
        return User(name, admin, at), token.text

    def add_token(self, user: str, *, expires_days: float | None = None) -> tuple[TokenInfo, str]:
        """Another token for ``user``; returns its text (shown once)."""
        token, expires = new_token(), _expiry(expires_days)
        at = now_ms()

        def work(conn: Connection) -> None:
            self._require_user(conn, user)
            conn.execute(insert(t.auth_tokens).values(_token_row(token, user, at, expires)))

        self._write(work)
        return TokenInfo(token.token_id, user, at, expires, None), token.text

    def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke a token (by its id, the part after ``swp_``); revoking twice keeps the first time."""
        token_id = token_id.removeprefix("swp_").partition("_")[0]  # a whole token's text works too
        at = now_ms()

        def work(conn: Connection) -> TokenInfo:
            tok = t.auth_tokens
            conn.execute(
                update(tok).where(tok.c.token_id == token_id, tok.c.revoked_at.is_(None)).values(revoked_at=at)
            )
            row = conn.execute(select(tok).where(tok.c.token_id == token_id)).first()
            if row is None:
                raise InvalidParameter(f"no token with id {token_id!r}; `sweeps auth list` shows the tokens")
            return TokenInfo(row.token_id, row.user_name, row.created_at, row.expires_at, row.revoked_at)

        return self._write(work)

    def token_owner(self, token_id: str) -> TokenOwner | None:
        def work(conn: Connection) -> TokenOwner | None:
            tok, users = t.auth_tokens, t.auth_users
            row = conn.execute(
                select(users.c.name, users.c.admin, tok.c.secret_hash, tok.c.expires_at, tok.c.revoked_at)
                .join(users, users.c.name == tok.c.user_name)
                .where(tok.c.token_id == token_id)
            ).first()
            return None if row is None else TokenOwner(row[0], bool(row[1]), row[2], row[3], row[4])

        return self._read(work)

    def users(self) -> list[User]:
        rows = self._read(lambda conn: conn.execute(select(t.auth_users).order_by(t.auth_users.c.name)).all())
        return [User(r.name, bool(r.admin), r.created_at) for r in rows]

    def tokens(self) -> list[TokenInfo]:
        tok = t.auth_tokens
        rows = self._read(lambda conn: conn.execute(select(tok).order_by(tok.c.user_name, tok.c.created_at)).all())
        return [TokenInfo(r.token_id, r.user_name, r.created_at, r.expires_at, r.revoked_at) for r in rows]

    # -- grants ------------------------------------------------------------------------------

    def grant(self, user: str, role: Role, *, experiment_id: int | None = None, model_name: str | None = None) -> None:
        """Give ``user`` ``role`` on one experiment or model, replacing an earlier grant there."""
        scope, target = _target(experiment_id, model_name)
        g = t.auth_grants

        def work(conn: Connection) -> None:
            self._require_user(conn, user)
            conn.execute(delete(g).where(g.c.user_name == user, g.c.scope == scope, g.c.target == target))
            conn.execute(insert(g).values(user_name=user, scope=scope, target=target, role=int(role)))

        self._write(work)

    def grant_if_absent(
        self, user: str, role: Role, *, experiment_id: int | None = None, model_name: str | None = None
    ) -> None:
        """As `grant`, but an existing grant is kept (a creator's MANAGE never lowers a grant)."""
        scope, target = _target(experiment_id, model_name)
        g = t.auth_grants

        def work(conn: Connection) -> None:
            if conn.execute(select(t.auth_users.c.name).where(t.auth_users.c.name == user)).first() is None:
                return  # not a user of the store (an admin of the open server): nothing to record
            found = conn.execute(
                select(g.c.role).where(g.c.user_name == user, g.c.scope == scope, g.c.target == target)
            ).first()
            if found is None:
                conn.execute(insert(g).values(user_name=user, scope=scope, target=target, role=int(role)))

        self._write(work)

    def revoke(self, user: str, *, experiment_id: int | None = None, model_name: str | None = None) -> None:
        scope, target = _target(experiment_id, model_name)
        g = t.auth_grants
        self._write(
            lambda conn: conn.execute(delete(g).where(g.c.user_name == user, g.c.scope == scope, g.c.target == target))
        )

    def role(self, user: str, scope: str, target: str) -> Role | None:
        g = t.auth_grants
        row = self._read(
            lambda conn: conn.execute(
                select(g.c.role).where(g.c.user_name == user, g.c.scope == scope, g.c.target == target)
            ).first()
        )
        return None if row is None else Role(row[0])

    def targets(self, user: str, scope: str) -> list[str]:
        """What ``user`` holds any grant on, in one scope."""
        g = t.auth_grants
        rows = self._read(
            lambda conn: conn.execute(select(g.c.target).where(g.c.user_name == user, g.c.scope == scope)).all()
        )
        return [r[0] for r in rows]

    def grants(self) -> list[Grant]:
        g = t.auth_grants
        rows = self._read(lambda conn: conn.execute(select(g).order_by(g.c.user_name, g.c.scope, g.c.target)).all())
        return [Grant(r.user_name, r.scope, r.target, Role(r.role)) for r in rows]

    # -- protected aliases ---------------------------------------------------------------------

    def protect_alias(self, model_name: str, alias: str, actor: str) -> None:
        p = t.protected_aliases

        def work(conn: Connection) -> None:
            if conn.execute(select(p.c.alias).where(p.c.name == model_name, p.c.alias == alias)).first() is None:
                conn.execute(insert(p).values(name=model_name, alias=alias, created_at=now_ms(), actor=actor))

        self._write(work)

    def unprotect_alias(self, model_name: str, alias: str) -> None:
        p = t.protected_aliases
        self._write(lambda conn: conn.execute(delete(p).where(and_(p.c.name == model_name, p.c.alias == alias))))

    def protected_aliases(self, model_name: str) -> frozenset[str]:
        p = t.protected_aliases
        rows = self._read(lambda conn: conn.execute(select(p.c.alias).where(p.c.name == model_name)).all())
        return frozenset(r[0] for r in rows)

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _require_user(conn: Connection, user: str) -> None:
        if conn.execute(select(t.auth_users.c.name).where(t.auth_users.c.name == user)).first() is None:
            raise InvalidParameter(f"no user named {user!r}; add one with `sweeps auth user add {user}`")


def _expiry(days: float | None) -> int | None:
    if days is None:
        return None
    if not days > 0:
        raise InvalidParameter(f"--expires-days must be > 0, not {days!r}")
    return now_ms() + int(days * _DAY_MS)


def _token_row(token: NewToken, user: str, at: int, expires: int | None) -> dict[str, object]:
    return {
        "token_id": token.token_id,
        "user_name": user,
        "secret_hash": token.secret_hash,
        "created_at": at,
        "expires_at": expires,
        "revoked_at": None,
    }
