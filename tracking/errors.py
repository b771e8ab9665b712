"""Exception tree of the tracking package: one base, one class per kind of failure."""

from __future__ import annotations


class TrackingError(Exception):
    """Base of every error raised by :mod:`tracking`."""


class InvalidURI(TrackingError, ValueError):
    """A store or artifact URI that cannot be used (unknown scheme, malformed)."""


class StoreUnavailable(TrackingError):
    """The database could not be reached or stayed locked past every retry."""


class SchemaVersionError(TrackingError):
    """The database schema is older or newer than this version of the code."""


class NotFound(TrackingError, LookupError):
    """Base for lookups of an entity that does not exist."""


class RunNotFound(NotFound):
    """No run with that id, or the run is finished and can no longer be written."""


class ExperimentNotFound(NotFound):
    """No experiment with that name or id."""


class InvalidParameter(TrackingError, ValueError):
    """A key, value or argument that the store refuses (empty key, non-numeric metric...)."""


class ParamConflict(InvalidParameter):
    """A param was logged again with a different value; params are immutable."""


class InvalidArtifactPath(InvalidParameter):
    """An artifact name that would escape its run's folder."""


class FilterError(TrackingError, ValueError):
    """A search filter or order-by clause that does not parse; names the position."""

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        self.text = text
        self.position = position
        if position is not None and text:
            pointer = " " * position + "^"
            message = f"{message} at position {position}:\n  {text}\n  {pointer}"
        super().__init__(message)


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
