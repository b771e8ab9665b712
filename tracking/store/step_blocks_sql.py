"""Reserving blocks of steps for one writer's ``step=None`` points, and giving back unused ones."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, and_, case, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tracking.errors import RunNotFound
from tracking.store import schema as t


def reserve(conn: Connection, run_id: str, wanted: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    """For each ``key: (at_least, count)``, the first of ``count`` steps ``>= at_least`` that no
    other writer of ``run_id`` holds.

    One upsert per key, in the caller's write transaction: concurrent writers (SQLite's write
    lock, PostgreSQL's row lock) each get blocks of their own.
    """
    if conn.execute(select(t.runs.c.run_id).where(t.runs.c.run_id == run_id)).first() is None:
        raise RunNotFound(f"no run with id {run_id!r}")
    table = t.step_blocks
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    starts = {}
    for key, (at_least, count) in wanted.items():
        stmt = insert(table).values(run_id=run_id, key=key, next_step=at_least + count)
        held = table.c.next_step
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.run_id, table.c.key],
            set_={"next_step": case((held > at_least, held), else_=literal(at_least)) + count},
        ).returning(table.c.next_step)
        starts[key] = int(conn.execute(stmt).scalar_one()) - count
    return starts


def release(conn: Connection, run_id: str, unused: Mapping[str, tuple[int, int]]) -> None:
    """For each ``key: (end, used)``: give back steps ``used..end`` if no writer reserved after."""
    c = t.step_blocks.c
    for key, (end, used) in unused.items():
        conn.execute(
            update(t.step_blocks)
            .where(and_(c.run_id == run_id, c.key == key, c.next_step == end))
            .values(next_step=used)
        )
