"""Runs written as another tracker recorded them (times, status, user kept): the importers' one write path."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, insert

from tracking.entities import Run
from tracking.store import schema as t
from tracking.store.engine import with_retries

_CHUNK = 200  # runs per transaction: a failure costs little, a large import few commits


def insert_runs(engine: Engine, runs: Sequence[Run]) -> None:
    """Insert ``runs`` (rows, params and tags) as given; their ids must be new to the store."""
    for start in range(0, len(runs), _CHUNK):
        chunk = runs[start : start + _CHUNK]

        def work(conn: Connection, chunk: Sequence[Run] = chunk) -> None:
            conn.execute(
                insert(t.runs),
                [
                    {
                        "run_id": r.run_id,
                        "experiment_id": r.experiment_id,
                        "name": r.name,
                        "status": r.status.value,
                        "start_time": r.start_time,
                        "end_time": r.end_time,
                        "parent_run_id": r.parent_run_id,
                        "artifact_uri": r.artifact_uri,
                        "error": r.error,
                        "user": r.user,
                    }
                    for r in chunk
                ],
            )
            for table, field in ((t.params, "params"), (t.tags, "tags")):
                rows = [{"run_id": r.run_id, "key": k, "value": v} for r in chunk for k, v in getattr(r, field).items()]
                if rows:
                    conn.execute(insert(table), rows)

        with_retries(engine, work)
