"""An MLflow tracking store read as plain records, through MLflow's own client (never its tables).

A SQLite source is read from a snapshot copy, so MLflow can never write to the user's file
(it would create or migrate its tables in any database it opens).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracking.entities import RunStatus
from tracking.errors import InvalidParameter, StoreError
from tracking.uri import mask_password

_STATUS = {
    "RUNNING": RunStatus.RUNNING,
    "SCHEDULED": RunStatus.RUNNING,
    "FINISHED": RunStatus.FINISHED,
    "FAILED": RunStatus.FAILED,
    "KILLED": RunStatus.KILLED,
}
_PAGE = 1_000


@dataclass(frozen=True)
class SourceRun:
    run_id: str
    experiment: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None
    parent_run_id: str | None
    user: str | None
    params: dict[str, str]
    tags: dict[str, str]
    metric_keys: tuple[str, ...]


@dataclass(frozen=True)
class SourceVersion:
    version: int
    run_id: str | None
    source: str
    stage: str
    description: str | None
    tags: dict[str, str]


@dataclass(frozen=True)
class SourceModel:
    name: str
    description: str | None
    tags: dict[str, str]
    aliases: dict[str, int]
    versions: list[SourceVersion] = field(default_factory=list)


class MlflowSource:
    """One MLflow store (a database URI, an ``mlruns`` folder, or a tracking server's URL), read-only."""

    def __init__(self, location: str) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            raise StoreError("importing from MLflow needs the mlflow package: pip install mlflow") from exc
        self.location = location
        self._tmp = tempfile.TemporaryDirectory(prefix="sweeps-mlflow-import-")
        uri = self._readable_uri(location)
        try:
            with _file_store_allowed():
                self._client = MlflowClient(tracking_uri=uri, registry_uri=uri)
                self._client.search_experiments(max_results=1)  # fails here on a store MLflow cannot read
        except Exception as exc:
            self.close()
            raise StoreError(f"cannot read the MLflow store {mask_password(location)}: {_first_line(exc)}") from exc

    def close(self) -> None:
        self._tmp.cleanup()

    def _readable_uri(self, location: str) -> str:
        if location.startswith("sqlite:"):
            path = Path(location.partition(":///")[2])
            if not path.is_file():
                raise InvalidParameter(f"no MLflow store at {path}: the file does not exist")
            copy = Path(self._tmp.name) / "mlflow.db"
            try:  # the backup API: a consistent snapshot even while MLflow writes to the file
                with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as src, sqlite3.connect(copy) as dst:
                    src.backup(dst)
                    tables = {r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot read the MLflow store {path}: {exc}") from exc
            if not {"experiments", "runs", "metrics", "alembic_version"} <= tables or "metric_summaries" in tables:
                raise InvalidParameter(f"{path} is not an MLflow tracking store (no MLflow tables in it)")
            return f"sqlite:///{copy}"
        if "://" not in location:  # an mlruns folder
            path = Path(location).resolve()
            if not path.is_dir():
                raise InvalidParameter(f"no MLflow store at {location}: not a folder (give an mlruns folder or a URI)")
            if not any(path.glob("*/meta.yaml")):
                raise InvalidParameter(f"{location} is not an mlruns folder (no experiment meta.yaml in it)")
            return path.as_uri()
        return location

    # -- reading --------------------------------------------------------------------------------

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with _file_store_allowed():
                return fn(*args, **kwargs)
        except Exception as exc:
            raise StoreError(
                f"cannot read {what} from the MLflow store {mask_password(self.location)}: {_first_line(exc)}"
            ) from exc

    def experiments(self, names: Sequence[str] | None) -> list[tuple[str, str]]:
        """``(id, name)`` of the active experiments, or of ``names`` only (each must exist)."""
        found = self._call("experiments", self._client.search_experiments, max_results=50_000)
        by_name = {e.name: e.experiment_id for e in found}
        if names is None:
            return sorted(((i, n) for n, i in by_name.items()), key=lambda e: e[1])
        missing = [n for n in names if n not in by_name]
        if missing:
            raise InvalidParameter(f"no experiment named {missing[0]!r} in the MLflow store; it has {sorted(by_name)}")
        return [(by_name[n], n) for n in names]

    def runs(self, experiments: Sequence[tuple[str, str]]) -> Iterator[SourceRun]:
        names = dict(experiments)
        token: str | None = None
        while True:
            page = self._call(
                "runs",
                self._client.search_runs,
                list(names),
                max_results=_PAGE,
                order_by=["attributes.start_time ASC"],
                page_token=token,
            )
            for r in page:
                info, data = r.info, r.data
                yield SourceRun(
                    run_id=info.run_id,
                    experiment=names[info.experiment_id],
                    name=info.run_name or f"run-{info.run_id[:8]}",
                    status=_STATUS.get(info.status, RunStatus.FAILED),
                    start_time=int(info.start_time or 0),
                    end_time=None if info.end_time is None else int(info.end_time),
                    parent_run_id=data.tags.get("mlflow.parentRunId"),
                    user=info.user_id or None,
                    params={k: str(v) for k, v in data.params.items()},
                    tags={k: str(v) for k, v in data.tags.items()},
                    metric_keys=tuple(sorted(data.metrics)),
                )
            token = page.token
            if not token:
                return

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, int]]:
        """Every ``(step, value, timestamp)`` MLflow holds for the key, in its order."""
        history = self._call(f"metric {key!r} of run {run_id}", self._client.get_metric_history, run_id, key)
        return [(int(m.step), float(m.value), int(m.timestamp)) for m in history]

    def download_artifacts(self, run_id: str, into: Path) -> Path | None:
        """The run's artifact folder, copied to ``into`` (None: it has none)."""
        listed = self._call(f"artifacts of run {run_id}", self._client.list_artifacts, run_id)
        if not listed:
            return None
        into.mkdir(parents=True, exist_ok=True)
        return Path(self._call(f"artifacts of run {run_id}", self._client.download_artifacts, run_id, "", str(into)))

    def download_model(self, source: str, into: Path) -> Path:
        """A registered version's model files (MLflow 3's ``models:/m-...`` logged models included)."""
        from mlflow.artifacts import download_artifacts

        location = source
        if source.startswith("models:/m-"):
            logged = self._call(
                f"logged model {source}", self._client.get_logged_model, source.removeprefix("models:/")
            )
            location = logged.artifact_location
        into.mkdir(parents=True, exist_ok=True)
        return Path(self._call(f"model {source}", download_artifacts, artifact_uri=location, dst_path=str(into)))

    def models(self) -> list[SourceModel]:
        found = self._call("registered models", self._client.search_registered_models, max_results=1_000)
        out = []
        for m in found:
            versions = self._call(
                f"versions of {m.name}", self._client.search_model_versions, f"name='{_quoted(m.name)}'"
            )
            out.append(
                SourceModel(
                    name=m.name,
                    description=m.description or None,
                    tags={k: str(v) for k, v in (m.tags or {}).items()},
                    aliases={a: int(v) for a, v in (m.aliases or {}).items()},
                    versions=sorted(
                        (
                            SourceVersion(
                                version=int(v.version),
                                run_id=v.run_id or None,
                                source=v.source or "",
                                stage=v.current_stage or "None",
                                description=v.description or None,
                                tags={k: str(x) for k, x in (v.tags or {}).items()},
                            )
                            for v in versions
                        ),
                        key=lambda v: v.version,
                    ),
                )
            )
        return sorted(out, key=lambda m: m.name)


@contextmanager
def _file_store_allowed() -> Iterator[None]:
    """MLflow 3 refuses an mlruns folder unless told; reading one is what an import is for."""
    before = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = before


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")


def copy_tree_files(root: Path) -> list[tuple[Path, str]]:
    """Every file below ``root`` with its '/'-separated name relative to it, sorted."""
    return sorted((p, p.relative_to(root).as_posix()) for p in root.rglob("*") if p.is_file() and not p.is_symlink())


__all__ = ["MlflowSource", "SourceModel", "SourceRun", "SourceVersion", "copy_tree_files"]
