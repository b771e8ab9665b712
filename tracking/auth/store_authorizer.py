"""The server's `Authorizer` over the store's users, tokens and grants (`SqlAuth`).

A token's row is read on every request, so a revoked or expired token is refused at once;
the slow argon2 check of its secret runs once per token and process, after which a keyed
digest of the secret is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

from tracking.auth import tokens
from tracking.auth.base import Principal, Role
from tracking.auth.sql_auth import EXPERIMENT, MODEL, SqlAuth, now_ms
from tracking.errors import Unauthenticated

_MAX_VERIFIED = 10_000  # tokens whose secret this process has checked


class StoreAuthorizer:
    """Authentication and roles from the store: admins may do everything, others what a grant says."""

    enabled = True

    def __init__(self, auth: SqlAuth) -> None:
        self._auth = auth
        self._key = secrets.token_bytes(32)  # this process's key for the digests below
        self._verified: dict[str, bytes] = {}  # token id -> keyed digest of its checked secret
        self._lock = threading.Lock()

    def _digest(self, secret: str) -> bytes:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).digest()

    def authenticate(self, token: str | None) -> Principal:
        token_id, secret = tokens.parse(token)
        owner = self._auth.token_owner(token_id)
        if owner is None or owner.revoked_at is not None:
            raise Unauthenticated(tokens.NOT_AUTHENTICATED)
        if owner.expires_at is not None and owner.expires_at <= now_ms():
            raise Unauthenticated(
                f"the token {token_id} has expired; `sweeps auth token add {owner.user}` makes a new one"
            )
        digest = self._digest(secret)
        known = self._verified.get(token_id)
        if known is None:
            if not tokens.matches(secret, owner.secret_hash):
                raise Unauthenticated(tokens.NOT_AUTHENTICATED)
            with self._lock:
                if len(self._verified) >= _MAX_VERIFIED:
                    self._verified.clear()
                self._verified[token_id] = digest
        elif not hmac.compare_digest(known, digest):
            raise Unauthenticated(tokens.NOT_AUTHENTICATED)
        return Principal(owner.user, owner.admin, token_id)

    def experiment_role(self, principal: Principal, experiment_id: int) -> Role | None:
        return Role.MANAGE if principal.admin else self._auth.role(principal.user, EXPERIMENT, str(experiment_id))

    def model_role(self, principal: Principal, model_name: str) -> Role | None:
        return Role.MANAGE if principal.admin else self._auth.role(principal.user, MODEL, model_name)

    def readable_experiments(self, principal: Principal) -> frozenset[int] | None:
        if principal.admin:
            return None
        return frozenset(int(target) for target in self._auth.targets(principal.user, EXPERIMENT))

    def readable_models(self, principal: Principal) -> frozenset[str] | None:
        return None if principal.admin else frozenset(self._auth.targets(principal.user, MODEL))

    def created_experiment(self, principal: Principal, experiment_id: int) -> None:
        self._auth.grant_if_absent(principal.user, Role.MANAGE, experiment_id=experiment_id)

    def created_model(self, principal: Principal, model_name: str) -> None:
        self._auth.grant_if_absent(principal.user, Role.MANAGE, model_name=model_name)

    def grant(self, user: str, role: Role, *, experiment_id: int | None = None, model_name: str | None = None) -> None:
        self._auth.grant(user, role, experiment_id=experiment_id, model_name=model_name)

    def revoke(self, user: str, *, experiment_id: int | None = None, model_name: str | None = None) -> None:
        self._auth.revoke(user, experiment_id=experiment_id, model_name=model_name)

    def protected_aliases(self, model_name: str) -> frozenset[str]:
        return self._auth.protected_aliases(model_name)
