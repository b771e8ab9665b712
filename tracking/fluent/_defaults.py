"""The fluent layer's one default client, opened on first use from `set_store` or ``$SWEEPS_STORE``."""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING

from tracking.errors import InvalidParameter
from tracking.fluent import _deferred
from tracking.uri import ARTIFACTS_ENV, STORE_ENV, resolve_store_uri

if TYPE_CHECKING:
    from tracking.client import TrackingClient
    from tracking.fluent._context import FluentRun

__all__ = ["DEFAULTS", "Defaults"]


class Defaults:
    """The default client, the default experiment, and the runs started through them.

    The only process-wide state of `tracking` (docs/fluent.md): everything below the fluent layer
    takes an explicit client. Threads share it; the active run is per thread/task instead.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: TrackingClient | None = None
        self.experiment: str | None = None
        self._open: dict[str, FluentRun] = {}  # run id -> fluent run not ended yet
        self._hooked = False

    def client(self) -> TrackingClient:
        with self._lock:
            if self._client is None:
                from tracking.client import connect  # SQLAlchemy: only once something is logged

                self._client = connect()
                if not self._hooked:
                    # Points sit in the sink's buffer until flushed; a script that ends without
                    # end_run must not lose them, nor leave its run RUNNING (as MLflow does).
                    atexit.register(self.close, end_open_runs=True)
                    self._hooked = True
            return self._client

    def set_store(self, uri: str, artifacts: str | None = None) -> None:
        resolve_store_uri(uri)  # a bad URI fails here, not at the first log call
        with self._lock:
            if self._open:
                raise InvalidParameter(
                    f"cannot change the store while {len(self._open)} fluent run(s) are open "
                    f"({', '.join(sorted(self._open))}); end them with tracking.end_run() first"
                )
            old, self._client = self._client, None
            # As MLflow's set_tracking_uri: every client opened without a URI in this process
            # (tracking.connect(), tracking.load_model(...)) and its subprocesses use it too.
            os.environ[STORE_ENV] = uri
            if artifacts is not None:
                os.environ[ARTIFACTS_ENV] = artifacts
        if old is not None:
            _deferred.wait()
            old.close()

    def opened(self, run: FluentRun) -> None:
        with self._lock:
            self._open[run.run_id] = run

    def ended(self, run_id: str) -> None:
        with self._lock:
            self._open.pop(run_id, None)

    def close(self, *, end_open_runs: bool = False) -> None:
        """Flush and close the default client and forget the default experiment.

        With ``end_open_runs``, end the open fluent runs FINISHED first.
        """
        _deferred.wait()  # what autologging still writes goes through this client
        with self._lock:
            runs, self._open = list(self._open.values()), {}
            client, self._client = self._client, None
            self.experiment = None
        if end_open_runs:
            for run in reversed(runs):  # children before their parents
                run.end()
        if client is not None:
            client.close()


DEFAULTS = Defaults()
