"""The page of ``search_runs`` as a polars DataFrame: attributes, then params, metrics (latest) and tags."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from tracking.entities import Run

ATTRIBUTE_COLUMNS = (
    "run_id",
    "experiment_id",
    "name",
    "status",
    "start_time",
    "end_time",
    "duration_s",
    "parent_run_id",
    "user",
    "artifact_uri",
    "error",
)
_BASE_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "experiment_id": pl.Int64(),
    "name": pl.String(),
    "status": pl.String(),
    "start_time": pl.Datetime("ms", "UTC"),
    "end_time": pl.Datetime("ms", "UTC"),
    "duration_s": pl.Float64(),
    "parent_run_id": pl.String(),
    "user": pl.String(),
    "artifact_uri": pl.String(),
    "error": pl.String(),
}


def runs_frame(runs: Sequence[Run]) -> pl.DataFrame:
    """A DataFrame of frozen runs, in their order; keys absent from a run are null."""
    param_keys = sorted({k for r in runs for k in r.params})
    metric_keys = sorted({k for r in runs for k in r.metrics})
    tag_keys = sorted({k for r in runs for k in r.tags})
    columns: dict[str, list] = {
        "run_id": [r.run_id for r in runs],
        "experiment_id": [r.experiment_id for r in runs],
        "name": [r.name for r in runs],
        "status": [r.status.value for r in runs],
        "start_time": [r.start_time for r in runs],
        "end_time": [r.end_time for r in runs],
        "duration_s": [r.duration_s for r in runs],
        "parent_run_id": [r.parent_run_id for r in runs],
        "user": [r.user for r in runs],
        "artifact_uri": [r.artifact_uri for r in runs],
        "error": [r.error for r in runs],
    }
    schema = dict(_BASE_SCHEMA)
    for key in param_keys:
        columns[f"params.{key}"] = [r.params.get(key) for r in runs]
        schema[f"params.{key}"] = pl.String()
    for key in metric_keys:
        columns[f"metrics.{key}"] = [_latest(r, key) for r in runs]
        schema[f"metrics.{key}"] = pl.Float64()
    for key in tag_keys:
        columns[f"tags.{key}"] = [r.tags.get(key) for r in runs]
        schema[f"tags.{key}"] = pl.String()
    frame = pl.DataFrame(
        {k: v for k, v in columns.items() if k not in ("start_time", "end_time")},
        schema={k: v for k, v in schema.items() if k not in ("start_time", "end_time")},
        nan_to_null=False,
    )
    times = pl.DataFrame(
        {"start_time": columns["start_time"], "end_time": columns["end_time"]},
        schema={"start_time": pl.Int64(), "end_time": pl.Int64()},
    ).cast({"start_time": _BASE_SCHEMA["start_time"], "end_time": _BASE_SCHEMA["end_time"]})
    return pl.concat([frame, times], how="horizontal").select(list(schema))


def _latest(run: Run, key: str) -> float | None:
    summary = run.metrics.get(key)
    return None if summary is None else summary.last
