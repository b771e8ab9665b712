"""Exception tree of the tracking package: one base, one class per kind of failure."""

from __future__ import annotations

from collections.abc import Iterable


class TrackingError(Exception):
    """Base of every error raised by :mod:`tracking`."""


class InvalidURI(TrackingError, ValueError):
    """A store or artifact URI that cannot be used (unknown scheme, malformed)."""


class StoreError(TrackingError):
    """The database behind the store failed in a way the store cannot recover from.

    The message names the store (password masked) and the database's own reason, never the
    statement; the driver's exception is chained as ``__cause__``.
    """


class StoreUnavailable(StoreError):
    """The database could not be reached or stayed locked past every retry."""


class SchemaVersionError(TrackingError):
    """The database schema is older or newer than this version of the code."""


class Unauthenticated(TrackingError):
    """No token, or one that is unknown, expired or revoked (HTTP 401)."""


class PermissionDenied(TrackingError):
    """The authenticated user may read this but not do what was asked (HTTP 403)."""


class NotFound(TrackingError, LookupError):
    """Base for lookups of an entity that does not exist."""


class RunNotFound(NotFound):
    """No run with that id."""


class RunFinished(TrackingError):
    """The run has ended: it takes no more params or metric points (tags it still takes)."""


class RunExists(TrackingError):
    """``start_run(run_id=...)`` with an id that another run already has."""


class SweepLeased(TrackingError):
    """Another driver holds the sweep's lease (or took it over from this one): one driver per sweep.

    ``host`` and ``pid`` name the holder and ``expires_in_s`` says when its lease lapses unless
    it renews it; all three are None when nobody holds the lease (it was released meanwhile).
    Over HTTP only the message travels, and it names them too.
    """

    def __init__(
        self, message: str, *, host: str | None = None, pid: int | None = None, expires_in_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.host = host
        self.pid = pid
        self.expires_in_s = expires_in_s


class ExperimentNotFound(NotFound):
    """No experiment with that name or id."""


class InvalidParameter(TrackingError, ValueError):
    """A key, value or argument that the store refuses (empty key, non-numeric metric...)."""


class ParamConflict(InvalidParameter):
    """A param was logged again with a different value; params are immutable."""


class InvalidArtifactPath(InvalidParameter):
    """An artifact name that would escape its run's folder."""


class SinkError(TrackingError):
    """Metric points could not be written even after the store's retries, and are lost.

    Raised to the runs whose points were in the failed batch: on their next log, end or
    run-scoped read, else on the next :meth:`TrackingClient.flush` (each failure once).
    ``run_ids`` names the runs that lost points (empty when the sink itself failed).
    """

    def __init__(self, message: str, run_ids: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.run_ids = tuple(run_ids)


class FilterError(TrackingError, ValueError):
    """A search filter or order-by clause that does not parse; names the position."""

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        self.text = text
        self.position = position
        if position is not None and text:
            shown, offset = _excerpt(text, position)
            message = f"{message} at position {position}:\n  {shown}\n  {' ' * offset}^"
        super().__init__(message)


def _excerpt(text: str, position: int, width: int = 60) -> tuple[str, int]:
    """Up to ``width`` characters either side of ``position``, and where it falls in them: a
    filter of thousands of characters is not printed whole."""
    start, end = max(0, position - width), position + width
    shown = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
    return shown, position - start + (1 if start else 0)


class ModelError(TrackingError):
    """Base of model saving/loading errors."""


class ModelIntegrityError(ModelError):
    """A model payload whose sha256 does not match its metadata (tampered or truncated)."""


class SignatureError(ModelError, ValueError):
    """Input to a loaded model that does not match its signature."""


class RegistryError(TrackingError):
    """Base of model-registry errors (unknown model/version/alias, invalid alias or stage)."""


class ModelNotFound(RegistryError, NotFound):
    """No registered model, version, alias or stage matching the request."""


class ImportConflict(TrackingError):
    """An import would overwrite something the store holds with different content (nothing was written)."""


class LifecycleError(TrackingError):
    """A delete or restore that does not fit the state of the run or experiment: deleting one
    already deleted, restoring one that is not, starting a run in a deleted experiment."""


class RunDeleted(LifecycleError):
    """The run is soft-deleted: it takes no params, metrics, tags or artifacts until it is restored."""

    @classmethod
    def of(cls, run_id: str) -> RunDeleted:
        return cls(
            f"run {run_id} is deleted; it takes no more params, metrics, tags or artifacts. "
            f"Restore it first (client.restore_run({run_id!r}) or `sweeps runs restore {run_id}`)"
        )


class RunInUse(LifecycleError):
    """The run (or a child it would take along) backs a registered model version: it is kept
    while the version exists, so the model's files and lineage stay."""
