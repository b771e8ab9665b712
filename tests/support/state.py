"""Comparable snapshots of what a store holds for a run, to prove a refused call changed nothing."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from tracking import Metric, TrackingClient


def same_float(a: float, b: float) -> bool:
    """Exact equality, except that NaN equals NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b


def canon(value: float) -> str:
    """A float as text for exact comparison: NaN, ±inf and every bit of a finite value kept.

    Adding 0.0 folds -0.0 into 0.0: SQLite stores a REAL without a fraction as an integer,
    so the sign of zero is the one bit a store may drop.
    """
    return repr(value + 0.0)


def metric_key(m: Metric) -> tuple[str, int, str, int]:
    # repr() makes NaN comparable to itself and keeps ±inf distinct.
    return (m.key, m.step, repr(m.value), m.timestamp)


@dataclass(frozen=True)
class RunState:
    status: str
    end_time: int | None
    error: str | None
    params: tuple[tuple[str, str], ...]
    tags: tuple[tuple[str, str], ...]
    summaries: tuple[tuple[str, str], ...]
    histories: tuple[tuple[str, int, str, int], ...]
    files: tuple[str, ...]


def run_state(client: TrackingClient, run_id: str, artifact_root: Path | None = None) -> RunState:
    """Everything stored for ``run_id``: attributes, params, tags, summaries, histories, artifact files."""
    run = client.get_run(run_id)
    histories: list[tuple[str, int, str, int]] = []
    for key in sorted(run.metrics):
        histories.extend(metric_key(m) for m in client.get_metric_history(run_id, key))
    files: tuple[str, ...] = ()
    if artifact_root is not None and artifact_root.exists():
        files = tuple(sorted(str(p.relative_to(artifact_root)) for p in artifact_root.rglob("*")))
    return RunState(
        status=str(run.status),
        end_time=run.end_time,
        error=run.error,
        params=tuple(sorted(run.params.items())),
        tags=tuple(sorted(run.tags.items())),
        summaries=tuple(sorted((k, repr(v)) for k, v in run.metrics.items())),
        histories=tuple(histories),
        files=files,
    )
