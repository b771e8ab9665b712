"""``sweeps import mlflow``: experiments, runs with their nesting, params, tags, every metric point,
artifacts and registered models of an MLflow store, into a SQL store; a second import changes nothing.

Everything is checked before anything is written: a run id (or model version) the store already
holds with different content stops the import with `ImportConflict`, the store untouched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tracking.entities import MetricPoint, Run
from tracking.errors import ImportConflict, ModelNotFound
from tracking.importers.mlflow_source import MlflowSource, SourceModel, SourceRun, SourceVersion, copy_tree_files
from tracking.registry.entities import ModelVersion, Stage
from tracking.store.import_sql import insert_runs
from tracking.store.sql_store import SqlStore
from tracking.uri import mask_password

IMPORT_TAG_PREFIX = "sweeps.import."  # tags the import adds; not part of a run's compared content
SOURCE_TAG = "sweeps.import.source"
RESTEPPED_TAG = "sweeps.import.restepped"
VERSION_TAG = "mlflow.version"  # on an imported model version: its number in MLflow
ACTOR = "mlflow-import"
_POINTS_PER_WRITE = 20_000
_SHOWN = 5

Progress = Callable[[int, int], None]  # (runs done, runs in all)


@dataclass
class ImportSummary:
    experiments_created: list[str] = field(default_factory=list)
    runs_imported: int = 0
    runs_present: int = 0  # already in the store with the same content (a re-run)
    points: int = 0  # points sent to the store (ones it held already are kept, not doubled)
    artifact_files: int = 0
    artifact_bytes: int = 0
    versions_imported: int = 0
    versions_present: int = 0
    restepped: list[str] = field(default_factory=list)  # "run/key" whose steps MLflow repeated

    def lines(self) -> list[str]:
        out = [
            f"experiments: {len(self.experiments_created)} new",
            f"runs: {self.runs_imported} imported, {self.runs_present} already here",
            f"metric points: {self.points:,}",
            f"artifacts: {self.artifact_files} files, {self.artifact_bytes:,} bytes",
            f"model versions: {self.versions_imported} imported, {self.versions_present} already here",
        ]
        if self.restepped:
            shown = ", ".join(self.restepped[:_SHOWN]) + (" ..." if len(self.restepped) > _SHOWN else "")
            out.append(
                f"{len(self.restepped)} series logged several values at one step (MLflow's step=0 default): "
                f"kept every value, at steps 0, 1, ... in time order (tag {RESTEPPED_TAG}): {shown}"
            )
        return out


def import_mlflow(
    source: str,
    store: SqlStore,
    *,
    artifact_root: str,
    experiments: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import ``source`` (an MLflow database URI or ``mlruns`` folder) into ``store``; see the module."""
    mlflow = MlflowSource(source)
    try:
        return _Import(mlflow, store, artifact_root, progress).run(experiments)
    finally:
        mlflow.close()


class _Import:
    def __init__(self, source: MlflowSource, store: SqlStore, artifact_root: str, progress: Progress | None) -> None:
        self.source = source
        self.store = store
        self.artifact_root = artifact_root
        self.progress = progress
        self.summary = ImportSummary()
        self.where = mask_password(source.location)

    def run(self, experiments: Sequence[str] | None) -> ImportSummary:
        chosen = self.source.experiments(experiments)
        runs = list(self.source.runs(chosen))
        present = {r.run_id: r for r in self.store.get_runs([r.run_id for r in runs])}
        self._check_runs(runs, present)
        models = [m for m in self.source.models() if any(v.run_id in {r.run_id for r in runs} for v in m.versions)]
        imported_ids = {r.run_id for r in runs}
        plans = [self._plan_model(m, imported_ids) for m in models]
        # -- nothing written above this line --
        new = self._insert_new(runs, present)
        by_id = {r.run_id: r for r in self.store.get_runs([r.run_id for r in runs])}
        with tempfile.TemporaryDirectory(prefix="sweeps-mlflow-artifacts-") as tmp:
            for done, run in enumerate(runs, 1):
                self._metrics(run)
                self._artifacts(run, by_id[run.run_id], Path(tmp) / run.run_id)
                if self.progress is not None:
                    self.progress(done, len(runs))
            for model, plan in zip(models, plans, strict=True):
                self._import_model(model, plan, by_id, Path(tmp) / "models")
        self.summary.runs_imported, self.summary.runs_present = new, len(runs) - new
        return self.summary

    # -- runs -----------------------------------------------------------------------------------

    def _check_runs(self, runs: list[SourceRun], present: dict[str, Run]) -> None:
        names = {e.experiment_id: e.name for e in self.store.list_experiments()}
        conflicts = []
        for run in runs:
            ours = present.get(run.run_id)
            if ours is None:
                continue
            differs = _difference(run, ours, names.get(ours.experiment_id))
            if differs:
                conflicts.append(f"run {run.run_id} ({differs})")
        if conflicts:
            raise ImportConflict(
                f"the store already holds {len(conflicts)} of these run ids with different content, so nothing "
                f"was imported: {'; '.join(conflicts[:_SHOWN])}{' ...' if len(conflicts) > _SHOWN else ''}"
            )

    def _insert_new(self, runs: list[SourceRun], present: dict[str, Run]) -> int:
        experiments = {}
        for name in dict.fromkeys(r.experiment for r in runs):
            existing = self.store.get_experiment_by_name(name)
            if existing is None:
                self.summary.experiments_created.append(name)
            experiments[name] = existing or self.store.get_or_create_experiment(name, self.artifact_root)
        rows = [
            Run(
                run_id=r.run_id,
                experiment_id=experiments[r.experiment].experiment_id,
                name=r.name,
                status=r.status,
                start_time=r.start_time,
                end_time=r.end_time,
                parent_run_id=r.parent_run_id,
                artifact_uri=f"{experiments[r.experiment].artifact_location}/{r.run_id}/artifacts",
                user=r.user,
                params=r.params,
                tags={**r.tags, SOURCE_TAG: self.where},
            )
            for r in runs
            if r.run_id not in present
        ]
        insert_runs(self.store.engine, rows)
        return len(rows)

    def _metrics(self, run: SourceRun) -> None:
        restepped = []
        batch: list[MetricPoint] = []
        for key in run.metric_keys:
            # The same point twice (MLflow's file store repeats a run's first points when a model is
            # logged) is one point; different values at one step are kept, re-stepped below.
            history = _distinct(self.source.metric_history(run.run_id, key))
            steps = [s for s, _, _ in history]
            if len(set(steps)) != len(steps):  # several values at one step: keep them all, in time order
                history = [(i, v, ts) for i, (_, v, ts) in enumerate(sorted(history, key=lambda h: (h[0], h[2])))]
                restepped.append(key)
            batch.extend(MetricPoint(run.run_id, key, s, v, ts) for s, v, ts in history)
            if len(batch) >= _POINTS_PER_WRITE:
                self._write(batch)
                batch = []
        self._write(batch)
        if restepped:
            self.store.set_tags(run.run_id, {RESTEPPED_TAG: ",".join(restepped)})
            self.summary.restepped.extend(f"{run.run_id[:8]}/{k}" for k in restepped)

    def _write(self, batch: list[MetricPoint]) -> None:
        if batch:
            self.store.write_metric_points(batch)  # a point already stored at its step is kept
            self.summary.points += len(batch)

    def _artifacts(self, run: SourceRun, ours: Run, tmp: Path) -> None:
        folder = self.source.download_artifacts(run.run_id, tmp)
        if folder is None:
            return
        target = self.store.artifacts(ours)
        held = {i.path: i.size for i in _walk(target)}
        for path, name in copy_tree_files(folder):
            size = path.stat().st_size
            if held.get(name) == size:
                continue
            target.put_file(path, name)
            self.summary.artifact_files += 1
            self.summary.artifact_bytes += size

    # -- registered models ------------------------------------------------------------------------

    def _plan_model(self, model: SourceModel, imported: set[str]) -> dict[int, int | None]:
        """MLflow version -> our version already holding it (None: to import); checks for conflicts."""
        registry = self.store.registry_store()
        try:
            ours = registry.list_versions(model.name)
        except ModelNotFound:
            ours = []
        by_mlflow = {int(v.tags[VERSION_TAG]): v for v in ours if VERSION_TAG in v.tags}
        untagged = [v for v in ours if VERSION_TAG not in v.tags]
        if untagged:
            raise ImportConflict(
                f"registered model {model.name!r} already has versions of this store's own "
                f"(v{untagged[0].version}); nothing was imported: rename one of them first"
            )
        plan: dict[int, int | None] = {}
        for v in model.versions:
            if v.run_id not in imported:
                continue
            held = by_mlflow.get(v.version)
            if held is not None and held.run_id != v.run_id:
                raise ImportConflict(
                    f"model {model.name!r} v{held.version} holds MLflow version {v.version} of run {held.run_id}, "
                    f"but MLflow's is of run {v.run_id}; nothing was imported"
                )
            plan[v.version] = None if held is None else held.version
        return plan

    def _import_model(self, model: SourceModel, plan: dict[int, int | None], runs: dict[str, Run], tmp: Path) -> None:
        registry = self.store.registry_store()
        if None in plan.values():
            try:
                registry.get_model(model.name)
            except ModelNotFound:
                registry.create_model(model.name, model.description, model.tags)
        numbers: dict[int, int] = {}
        for v in model.versions:
            if v.version not in plan:
                continue
            held = plan[v.version]
            if held is not None:
                numbers[v.version] = held
                self.summary.versions_present += 1
                continue
            assert v.run_id is not None
            created = registry.register_version(
                model.name,
                run_id=v.run_id,
                source=self._model_source(v, runs[v.run_id], tmp),
                description=v.description,
                tags={**v.tags, VERSION_TAG: str(v.version)},
                actor=ACTOR,
                reason=f"imported from MLflow ({self.where}, version {v.version})",
            )
            numbers[v.version] = created.version
            self.summary.versions_imported += 1
            if Stage.parse(v.stage) is not Stage.NONE:
                registry.transition_stage(
                    model.name, created.version, Stage.parse(v.stage), archive_existing=False, actor=ACTOR, reason=None
                )
        for alias, mlflow_version in model.aliases.items():
            target = numbers.get(mlflow_version)
            if target is None or _alias_of(registry, model.name, alias) == target:
                continue
            registry.set_alias(model.name, alias, target, actor=ACTOR, reason="imported from MLflow")

    def _model_source(self, version: SourceVersion, run: Run, tmp: Path) -> str:
        """``runs:/`` source of a version: MLflow 3's logged-model files are copied into the run first."""
        if version.source.startswith(f"runs:/{run.run_id}/"):
            return version.source
        name = (
            version.source.removeprefix("models:/")
            if version.source.startswith("models:/m-")
            else f"v{version.version}"
        )
        folder = self.source.download_model(version.source, tmp / name)
        target = self.store.artifacts(run)
        held = {i.path: i.size for i in _walk(target)}
        for path, rel in copy_tree_files(folder):
            if held.get(f"mlflow-models/{name}/{rel}") != path.stat().st_size:
                target.put_file(path, f"mlflow-models/{name}/{rel}")
        return f"runs:/{run.run_id}/mlflow-models/{name}"


def _difference(run: SourceRun, ours: Run, experiment: str | None) -> str | None:
    """What differs between an MLflow run and the store's run of the same id (None: nothing)."""
    checks = [
        ("experiment", run.experiment, experiment),
        ("name", run.name, ours.name),
        ("status", run.status, ours.status),
        ("start_time", run.start_time, ours.start_time),
        ("end_time", run.end_time, ours.end_time),
        ("parent", run.parent_run_id, ours.parent_run_id),
        ("params", run.params, dict(ours.params)),
        ("tags", run.tags, {k: v for k, v in ours.tags.items() if not k.startswith(IMPORT_TAG_PREFIX)}),
    ]
    for what, theirs, held in checks:
        if theirs != held:
            return f"{what} differs"
    return None


def _distinct(history: list[tuple[int, float, int]]) -> list[tuple[int, float, int]]:
    """The points of ``history`` without exact repeats (NaN equal to NaN), in their order."""
    seen: set[tuple[int, float | str, int]] = set()
    out = []
    for step, value, ts in history:
        key = (step, "nan" if value != value else value, ts)
        if key not in seen:
            seen.add(key)
            out.append((step, value, ts))
    return out


def _walk(artifacts: object) -> list:
    """Every file of a run's artifacts, recursively (`Artifacts.list` gives one level)."""
    out, folders = [], [None]
    while folders:
        for info in artifacts.list(folders.pop()):  # type: ignore[attr-defined]
            (folders.append(info.path) if info.is_dir else out.append(info))
    return out


def _alias_of(registry: object, name: str, alias: str) -> int | None:
    try:
        version: ModelVersion = registry.version_by_alias(name, alias)  # type: ignore[attr-defined]
    except ModelNotFound:
        return None
    return version.version
