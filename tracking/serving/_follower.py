"""The model a server answers with: loaded once, or, for an alias or stage, followed as it moves.

A poller thread asks the registry which version the alias names; a new version is loaded
(hash-checked by `load_model`), warmed on its input example and then swapped in with one
reference assignment. A request reads `ModelFollower.current` once and keeps that model to
the end, so a swap never splits a request and requests in flight finish on the old version.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from tracking.errors import TrackingError
from tracking.models import LoadedModel, ModelRef, load_model, parse_model_uri
from tracking.models._source import ModelSource, RegisteredVersion

log = logging.getLogger("tracking.serving")

DEFAULT_POLL_INTERVAL_S = 1.0
RETRY_FAILED_AFTER_S = 60.0  # a version that failed to load is tried again after this long


@dataclass(frozen=True, slots=True)
class ServedModel:
    """One loaded, warmed model and what it is: the unit that is swapped."""

    model: LoadedModel
    uri: str  # what was loaded: models:/NAME/VERSION, or the runs:/ URI
    name: str | None
    version: int | None
    sha256: str
    loaded_at: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class LoadFailure:
    """A version that could not be loaded or warmed, or a registry lookup that failed."""

    version: int | None
    error: str
    at: float


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).isoformat(timespec="seconds")


def _follows(ref: ModelRef) -> bool:
    return ref.scheme == "models" and ref.version is None


class ModelFollower:
    """Serves the model ``uri`` names from ``client``; for an alias, stage or ``latest`` it follows it."""

    def __init__(self, uri: str, client: ModelSource, *, poll_interval_s: float = DEFAULT_POLL_INTERVAL_S) -> None:
        self.uri = uri
        self.ref = parse_model_uri(uri)
        self.poll_interval_s = poll_interval_s
        self._client = client
        self._current: ServedModel | None = None
        self._failure: LoadFailure | None = None
        self._failed_at: dict[int, float] = {}  # version -> when it last failed to load
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def follows(self) -> bool:
        return _follows(self.ref)

    @property
    def current(self) -> ServedModel:
        served = self._current
        if served is None:
            raise TrackingError(f"no model is loaded yet for {self.uri}")
        return served

    @property
    def ready(self) -> bool:
        return self._current is not None

    def load(self) -> ServedModel:
        """Load what the URI names now; errors propagate (the server must not start without a model)."""
        version = self._resolve() if self.ref.scheme == "models" else None
        served = self._load(version)
        self._current = served
        return served

    def start(self) -> ModelFollower:
        """Load the model, then (for a moving reference) poll for new versions in a daemon thread."""
        if self._current is None:
            self.load()
        if self.follows and self._thread is None:
            self._thread = threading.Thread(target=self._poll, name="model-follower", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        close = getattr(self._client, "close", None)
        if callable(close):
            close()

    def refresh(self) -> bool:
        """One poll: swap in the version the alias names now if it changed; True when swapped."""
        with self._refresh_lock:
            try:
                version = self._resolve()
            except TrackingError as exc:
                self._record(None, f"cannot look up {self.uri}: {exc}")
                return False
            served = self._current
            if served is not None and served.version == version:
                return False
            failed = self._failed_at.get(version)
            if failed is not None and time.time() - failed < RETRY_FAILED_AFTER_S:
                return False
            try:
                new = self._load(version)
            except Exception as exc:  # any failure keeps the old version serving; the reason is shown
                self._failed_at[version] = time.time()
                self._record(version, f"{type(exc).__name__}: {exc}")
                return False
            self._current = new  # the swap: one reference assignment
            self._failed_at.pop(version, None)
            self._failure = None
            old = f"v{served.version}" if served is not None else "nothing"
            log.info("%s: now serving v%s (sha256 %s…), was %s", self.uri, version, new.sha256[:12], old)
            return True

    def status(self) -> dict[str, object]:
        """What ``GET /version`` answers: the model serving now and the last failure to swap, if any."""
        served = self._current
        failure = self._failure
        return {
            "uri": self.uri,
            "name": served.name if served else self.ref.name,
            "version": served.version if served else None,
            "alias": self.ref.alias,
            "stage": self.ref.stage,
            "sha256": served.sha256 if served else None,
            "model_class": served.model.metadata.model_class if served else None,
            "loaded_from": served.uri if served else None,
            "loaded_at": _iso(served.loaded_at) if served else None,
            "follows": self.follows,
            "pid": os.getpid(),  # with --workers N, which worker process answered
            "poll_interval_s": self.poll_interval_s if self.follows else None,
            "last_error": None
            if failure is None
            else {"version": failure.version, "error": failure.error, "at": _iso(failure.at)},
        }

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_interval_s):
            try:
                self.refresh()
            except Exception as exc:  # the poller must outlive anything one poll meets
                self._record(None, f"{type(exc).__name__}: {exc}")

    def _record(self, version: int | None, error: str) -> None:
        previous = self._failure
        self._failure = LoadFailure(version, error, time.time())
        if previous is None or (previous.version, previous.error) != (version, error):
            what = f"v{version} was not swapped in" if version is not None else "the registry lookup failed"
            log.error("%s: %s; still serving the loaded version: %s", self.uri, what, error)

    def _resolve(self) -> int:
        registry = self._client.registry
        ref = self.ref
        assert ref.name is not None
        found: RegisteredVersion
        if ref.version is not None:
            return ref.version
        if ref.alias is not None:
            found = registry.get_version_by_alias(ref.name, ref.alias)
        elif ref.stage == "latest":
            found = registry.get_latest_version(ref.name)
        else:
            found = registry.get_latest_version(ref.name, ref.stage)
        return found.version

    def _load(self, version: int | None) -> ServedModel:
        # A fixed version URI, not the alias: the alias may move again between lookup and load.
        uri = self.uri if version is None else f"models:/{self.ref.name}/{version}"
        model = load_model(uri, self._client)
        example = model.input_example()
        if example is not None:
            model.predict(example)  # warm: the first request should not pay for lazy imports and caches
        return ServedModel(model, uri, self.ref.name, version, model.metadata.sha256, time.time())
