"""Sweep leases on SQL: who drives a sweep, decided by conditional writes that are atomic on
SQLite (one writer at a time) and on PostgreSQL (a row's UPDATE re-checks its WHERE on the
latest committed version), so two drivers racing for one sweep never both win."""

from __future__ import annotations

import math
import time

from sqlalchemy import Connection, Row, and_, case, or_, select, update

from tracking.entities import Lease
from tracking.errors import InvalidParameter, SweepLeased
from tracking.limits import KEY_LEN
from tracking.store import schema as t
from tracking.store.dialects import Dialect

__all__ = ["MAX_TTL_S", "OWNER_LEN", "acquire", "check_owner", "get", "release", "renew"]

OWNER_LEN = 64  # sweep_leases.owner
MAX_TTL_S = 86_400.0
# An acquire that finds a lease gone between its INSERT and its UPDATE (released by its
# holder meanwhile, PostgreSQL only) tries again; a few rounds settle any such race.
_ROUNDS = 5

_L = t.sweep_leases
_C = _L.c


def _now_ms() -> int:
    # The clock of this process: every process that opens the database uses its own, which is
    # why hosts sharing a store need synchronised clocks (see tracking.store.base).
    return int(time.time() * 1000)


def check_owner(owner: str) -> str:
    if not isinstance(owner, str) or not owner or len(owner) > OWNER_LEN:
        raise InvalidParameter(f"lease owner must be a non-empty text of at most {OWNER_LEN} characters: {owner!r}")
    return owner


def _ttl_ms(ttl_s: float) -> int:
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int | float) or not math.isfinite(ttl_s):
        raise InvalidParameter(f"lease ttl_s must be a number of seconds, got {ttl_s!r}")
    if not 0 < ttl_s <= MAX_TTL_S:
        raise InvalidParameter(f"lease ttl_s must be above 0 and at most {MAX_TTL_S:g} seconds, got {ttl_s!r}")
    return max(1, round(ttl_s * 1000))


def _check_holder(host: str, pid: int) -> None:
    if not isinstance(host, str) or not host or len(host) > KEY_LEN:
        raise InvalidParameter(f"lease host must be a non-empty text of at most {KEY_LEN} characters: {host!r}")
    if isinstance(pid, bool) or not isinstance(pid, int) or not 0 <= pid < 2**31:
        raise InvalidParameter(f"lease pid must be a process id, got {pid!r}")


def _lease(row: Row, now: int) -> Lease:
    return Lease(
        sweep_run_id=row.sweep_run_id,
        owner=row.owner,
        host=row.host,
        pid=row.pid,
        acquired_at=row.acquired_at,
        heartbeat_at=row.heartbeat_at,
        expires_at=row.expires_at,
        expires_in_s=max(0.0, (row.expires_at - now) / 1000),
    )


def _row(conn: Connection, sweep_run_id: str) -> Row | None:
    return conn.execute(select(_L).where(_C.sweep_run_id == sweep_run_id)).first()


def acquire(conn: Connection, db: Dialect, sweep_run_id: str, owner: str, host: str, pid: int, ttl_s: float) -> Lease:
    """Take the lease if nobody holds it or it lapsed, renew it if ``owner`` holds it, else raise
    `SweepLeased`. Safe to retry: a second attempt finds the caller's own lease and renews it."""
    check_owner(owner)
    _check_holder(host, pid)
    ttl = _ttl_ms(ttl_s)
    for _ in range(_ROUNDS):
        now = _now_ms()
        fresh = {"owner": owner, "host": host, "pid": pid, "heartbeat_at": now, "expires_at": now + ttl}
        row = conn.execute(
            db.insert_ignore(_L).values(sweep_run_id=sweep_run_id, acquired_at=now, **fresh).returning(*_C)
        ).first()
        if row is None:  # a lease exists: take it over if it lapsed, renew it if it is ours
            row = conn.execute(
                update(_L)
                .where(and_(_C.sweep_run_id == sweep_run_id, or_(_C.owner == owner, _C.expires_at <= now)))
                .values(acquired_at=case((_C.owner == owner, _C.acquired_at), else_=now), **fresh)
                .returning(*_C)
            ).first()
        if row is not None:
            return _lease(row, now)
        holder = _row(conn, sweep_run_id)
        if holder is not None:
            raise _held(_lease(holder, now), now)
    raise SweepLeased(f"the lease of sweep run {sweep_run_id} keeps changing hands; try again")


def renew(conn: Connection, sweep_run_id: str, owner: str, ttl_s: float) -> Lease:
    """Extend ``owner``'s lease (lapsed or not, as long as nobody took it over); else `SweepLeased`."""
    check_owner(owner)
    ttl = _ttl_ms(ttl_s)
    now = _now_ms()
    row = conn.execute(
        update(_L)
        .where(and_(_C.sweep_run_id == sweep_run_id, _C.owner == owner))
        .values(heartbeat_at=now, expires_at=now + ttl)
        .returning(*_C)
    ).first()
    if row is not None:
        return _lease(row, now)
    holder = _row(conn, sweep_run_id)
    if holder is None:
        raise SweepLeased(
            f"the lease of sweep run {sweep_run_id} is gone: this driver let it lapse and another "
            "driver took the sweep over (and has released it since)"
        )
    lease = _lease(holder, now)
    raise SweepLeased(
        f"the lease of sweep run {sweep_run_id} was taken over by pid {lease.pid} on host {lease.host} "
        "after this driver let it lapse",
        host=lease.host,
        pid=lease.pid,
        expires_in_s=lease.expires_in_s,
    )


def release(conn: Connection, sweep_run_id: str, owner: str) -> None:
    check_owner(owner)
    conn.execute(_L.delete().where(and_(_C.sweep_run_id == sweep_run_id, _C.owner == owner)))


def get(conn: Connection, sweep_run_id: str) -> Lease | None:
    row = _row(conn, sweep_run_id)
    return None if row is None else _lease(row, _now_ms())


def _held(lease: Lease, now: int) -> SweepLeased:
    ago = max(0.0, (now - lease.heartbeat_at) / 1000)
    return SweepLeased(
        f"sweep run {lease.sweep_run_id} is driven by pid {lease.pid} on host {lease.host} "
        f"(lease renewed {ago:.1f}s ago; it lapses in {lease.expires_in_s:.1f}s unless that driver renews it)",
        host=lease.host,
        pid=lease.pid,
        expires_in_s=lease.expires_in_s,
    )
