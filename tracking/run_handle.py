"""A live handle on one RUNNING run: logs params, metrics (through the sink), tags and artifacts."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from tracking import rich_artifacts
from tracking.entities import Run, RunStatus

if TYPE_CHECKING:
    from tracking.artifacts import ArtifactInfo
    from tracking.client import TrackingClient


class ActiveRun:
    """Returned by :meth:`TrackingClient.start_run`; a context manager that ends the run.

    Leaving the block normally ends the run FINISHED; an exception ends it FAILED with the
    traceback as its error (KeyboardInterrupt: KILLED).
    """

    def __init__(self, client: TrackingClient, run: Run) -> None:
        self.client = client
        self.run_id = run.run_id
        self.experiment_id = run.experiment_id
        self.artifact_uri = run.artifact_uri
        self.name = run.name
        self._ended = False

    def __repr__(self) -> str:
        return f"ActiveRun(run_id={self.run_id!r}, name={self.name!r})"

    @property
    def info(self) -> Run:
        """A fresh frozen snapshot of the run (flushes pending metrics first)."""
        return self.client.get_run(self.run_id)

    # -- logging ---------------------------------------------------------------------------

    def log_param(self, key: str, value: object) -> None:
        self.client.log_params(self.run_id, {key: value})

    def log_params(self, params: Mapping[str, object]) -> None:
        self.client.log_params(self.run_id, params)

    def log_metric(self, key: str, value: float, step: int | None = None, timestamp: int | None = None) -> None:
        self.client.log_metrics(self.run_id, {key: value}, step=step, timestamp=timestamp)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None) -> None:
        self.client.log_metrics(self.run_id, metrics, step=step, timestamp=timestamp)

    def set_tag(self, key: str, value: object) -> None:
        self.client.set_tags(self.run_id, {key: value})

    def set_tags(self, tags: Mapping[str, object]) -> None:
        self.client.set_tags(self.run_id, tags)

    def log_artifact(self, path: str | Path, name: str | None = None) -> str:
        return self.client.log_artifact(self.run_id, path, name)

    def log_dict(self, obj: object, name: str) -> str:
        return self.client.log_dict(self.run_id, obj, name)

    def log_text(self, text: str, name: str) -> str:
        return self.client.log_text(self.run_id, text, name)

    def log_figure(self, figure: object, name: str) -> str:
        """Save a matplotlib (or plotly) figure in the format of ``name``'s extension."""
        return self._put_bytes(rich_artifacts.figure_bytes(figure, name), name)

    def log_image(self, image: object, name: str) -> str:
        """Save a numpy array (HxW, HxWx3, HxWx4; uint8 or float in [0, 1]) or a PIL image."""
        return self._put_bytes(rich_artifacts.image_bytes(image, name), name)

    def log_table(self, table: object, name: str) -> str:
        """Save a pandas or polars frame as .json, .csv or .parquet (by ``name``'s extension)."""
        return self._put_bytes(rich_artifacts.table_bytes(table, name), name)

    def _put_bytes(self, data: bytes, name: str) -> str:
        # The object was encoded (and checked) first: a bad one stores nothing.
        return self.client.writable_artifacts(self.run_id).put_bytes(data, name)

    def log_model(self, model: object, name: str = "model", **kwargs: object) -> str:
        """Save ``model`` under this run's artifacts; returns its ``runs:/`` URI."""
        return self.client.log_model(self.run_id, model, name, **kwargs)

    def list_artifacts(self, path: str | None = None) -> list[ArtifactInfo]:
        return self.client.list_artifacts(self.run_id, path)

    # -- lifecycle -------------------------------------------------------------------------

    def end(self, status: RunStatus | str = RunStatus.FINISHED, error: str | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        self.client.end_run(self.run_id, RunStatus(status), error)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end(RunStatus.FINISHED)
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end(RunStatus.KILLED, "interrupted (KeyboardInterrupt)")
        else:
            self.end(RunStatus.FAILED, "".join(traceback.format_exception(exc_type, exc, tb)))
