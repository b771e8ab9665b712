"""Who is calling and what they may do: the principal, the roles, and the authorizer protocol the server asks.

The server authenticates every request with `Authorizer.authenticate`, then asks for the caller's
role on the experiment or registered model the request touches. `OPEN` answers "admin" for
everyone: `sweeps ui` (loopback only, no auth) and the in-process tests of routes use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, runtime_checkable


class Role(IntEnum):
    """A grant on one experiment or one registered model; a higher role includes the lower ones."""

    READ = 1  # see runs, metrics, artifacts, model versions
    EDIT = 2  # also log runs, register versions, move unprotected aliases
    MANAGE = 3  # also move protected aliases, set stages, grant roles on it

    @classmethod
    def parse(cls, text: str) -> Role:
        """``read`` / ``edit`` / ``manage`` (any case); `ValueError` naming the choices otherwise."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {text!r}; choose read, edit or manage") from None


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    user: str
    admin: bool
    token_id: str | None = None  # None for the open authorizer


@runtime_checkable
class Authorizer(Protocol):
    """Authentication and grants, as the server uses them (the SQL implementation lives beside this)."""

    enabled: bool  # False for OPEN: no token needed, everyone is admin

    def authenticate(self, token: str | None) -> Principal:
        """The principal a bearer token belongs to; `tracking.errors.Unauthenticated` for none,
        an unknown, an expired or a revoked token."""
        ...

    def experiment_role(self, principal: Principal, experiment_id: int) -> Role | None:
        """The caller's role on an experiment (MANAGE for admins); None: it does not exist for them."""
        ...

    def model_role(self, principal: Principal, model_name: str) -> Role | None:
        """The caller's role on a registered model (MANAGE for admins); None: invisible to them."""
        ...

    def readable_experiments(self, principal: Principal) -> frozenset[int] | None:
        """Ids of the experiments the caller may read; None means all (admins, OPEN)."""
        ...

    def readable_models(self, principal: Principal) -> frozenset[str] | None:
        """Names of the registered models the caller may read; None means all."""
        ...

    def created_experiment(self, principal: Principal, experiment_id: int) -> None:
        """The caller created this experiment: they get MANAGE on it (as MLflow's creators do)."""
        ...

    def created_model(self, principal: Principal, model_name: str) -> None:
        """The caller registered the first version of this model: they get MANAGE on it."""
        ...

    def grant(self, user: str, role: Role, *, experiment_id: int | None = None, model_name: str | None = None) -> None:
        """Give ``user`` ``role`` on exactly one experiment or model (replacing an earlier grant)."""
        ...

    def revoke(self, user: str, *, experiment_id: int | None = None, model_name: str | None = None) -> None:
        """Take ``user``'s grant on that experiment or model away (none is no error)."""
        ...

    def protected_aliases(self, model_name: str) -> frozenset[str]:
        """Aliases of the model that only MANAGE may move, and only with a reason."""
        ...


class OpenAuthorizer:
    """No authentication: every caller is an admin named by the client (``sweeps ui``, route tests)."""

    enabled = False

    def authenticate(self, token: str | None) -> Principal:
        return Principal(user="local", admin=True)

    def experiment_role(self, principal: Principal, experiment_id: int) -> Role | None:
        return Role.MANAGE

    def model_role(self, principal: Principal, model_name: str) -> Role | None:
        return Role.MANAGE

    def readable_experiments(self, principal: Principal) -> frozenset[int] | None:
        return None

    def readable_models(self, principal: Principal) -> frozenset[str] | None:
        return None

    def created_experiment(self, principal: Principal, experiment_id: int) -> None:
        return None

    def created_model(self, principal: Principal, model_name: str) -> None:
        return None

    def grant(self, user: str, role: Role, *, experiment_id: int | None = None, model_name: str | None = None) -> None:
        return None

    def revoke(self, user: str, *, experiment_id: int | None = None, model_name: str | None = None) -> None:
        return None

    def protected_aliases(self, model_name: str) -> frozenset[str]:
        return frozenset()


OPEN = OpenAuthorizer()
