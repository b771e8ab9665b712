"""What the primary key of ``metrics`` costs PostgreSQL per row: why points are keyed by an integer series id.

The same points (32 runs x 10 keys, 20,000-row binary COPY transactions, one connection) go
into four layouts: the old ``(run_id, key, step)`` text key, ``(series_id, step)`` as schema
0002 has it (bigint, and int for comparison), and no key at all. Prints rows/s and the
server backend's CPU per row, read from /proc (the server runs on this machine).
Run: ``python benchmarks/pg_primary_key.py [--batches 80] [--repeat 2]``; not a timed test.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks._common import postgres_databases

RUNS, KEYS, STEPS_PER_BATCH = 32, 10, 60  # 19,200 rows per transaction
_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_TRAILER = struct.pack(">h", -1)
_TAIL = [("step", ">i8"), ("value_len", ">i4"), ("value", ">f8"), ("ts_len", ">i4"), ("ts", ">i8")]


def _tail(rows: np.ndarray, batch: int) -> None:
    rows["step"] = np.arange(batch * STEPS_PER_BATCH, (batch + 1) * STEPS_PER_BATCH)
    rows["value_len"] = rows["ts_len"] = 8
    rows["value"] = np.random.default_rng(batch).random(STEPS_PER_BATCH)
    rows["ts"] = 1_700_000_000_000 + batch


def text_key_batch(batch: int) -> bytes:
    out = [_HEADER]
    for run in range(RUNS):
        run_id = f"{run:032x}".encode()
        for k in range(KEYS):
            key = f"metric_{k}".encode()
            prefix = struct.pack(">hi", 5, len(run_id)) + run_id + struct.pack(">i", len(key)) + key
            rows = np.empty(STEPS_PER_BATCH, np.dtype([("prefix", f"V{len(prefix)}"), ("step_len", ">i4"), *_TAIL]))
            rows["prefix"] = np.frombuffer(prefix, f"V{len(prefix)}")[0]
            rows["step_len"] = 8
            _tail(rows, batch)
            out.append(rows.tobytes())
    return b"".join([*out, _TRAILER])


def series_key_batch(batch: int, id_type: str = ">i8") -> bytes:
    out = [_HEADER]
    layout = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", id_type), ("step_len", ">i4"), *_TAIL])
    for series in range(1, RUNS * KEYS + 1):
        rows = np.empty(STEPS_PER_BATCH, layout)
        rows["fields"], rows["id_len"], rows["id"], rows["step_len"] = 4, np.dtype(id_type).itemsize, series, 8
        _tail(rows, batch)
        out.append(rows.tobytes())
    return b"".join([*out, _TRAILER])


TEXT_COLUMNS = "run_id varchar(32) NOT NULL, key varchar(250) NOT NULL"
POINT_COLUMNS = "step bigint NOT NULL, value float8, timestamp bigint NOT NULL"
LAYOUTS: dict[str, tuple[str, str, Callable[[int], bytes]]] = {
    "(run_id, key, step) text key (schema 0001)": (
        f"{TEXT_COLUMNS}, {POINT_COLUMNS}, PRIMARY KEY (run_id, key, step)",
        "run_id, key, step, value, timestamp",
        text_key_batch,
    ),
    "(series_id bigint, step) key (schema 0002)": (
        f"series_id bigint NOT NULL, {POINT_COLUMNS}, PRIMARY KEY (series_id, step)",
        "series_id, step, value, timestamp",
        series_key_batch,
    ),
    "(series_id int, step) key": (
        f"series_id int NOT NULL, {POINT_COLUMNS}, PRIMARY KEY (series_id, step)",
        "series_id, step, value, timestamp",
        lambda batch: series_key_batch(batch, ">i4"),
    ),
    "text columns, no key": (f"{TEXT_COLUMNS}, {POINT_COLUMNS}", "run_id, key, step, value, timestamp", text_key_batch),
}


def backend_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(dsn: str, table: str, columns: str, streams: list[bytes]) -> tuple[float, float]:
    """Rows/s and server CPU µs per row of COPYing ``streams`` into a new table, a transaction each."""
    import psycopg

    rows = RUNS * KEYS * STEPS_PER_BATCH * len(streams)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE points ({table})")
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        cpu, start = backend_cpu_s(pid), time.perf_counter()
        for data in streams:
            with conn.transaction(), conn.cursor().copy(f"COPY points ({columns}) FROM STDIN (FORMAT binary)") as copy:
                copy.write(data)
        seconds, cpu = time.perf_counter() - start, backend_cpu_s(pid) - cpu
    return rows / seconds, cpu / rows * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=80, help="transactions of 19,200 rows per layout")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    rows = RUNS * KEYS * STEPS_PER_BATCH * args.batches
    with postgres_databases(one_at_a_time=True) as make:
        if make is None:
            print("PostgreSQL unavailable (set SWEEPS_TEST_POSTGRES or install the server binaries)")
            return
        print(f"{rows:,} rows per layout, {RUNS * KEYS * STEPS_PER_BATCH:,} per COPY transaction")
        print(f"{'layout':<46} {'rows/s':>10} {'server us/row':>14}")
        for _ in range(args.repeat):
            for name, (table, columns, encode) in LAYOUTS.items():
                streams = [encode(b) for b in range(args.batches)]
                dsn = make().replace("postgresql+psycopg://", "postgresql://")
                rate, us = measure(dsn, table, columns, streams)
                print(f"{name:<46} {rate:>10,.0f} {us:>14.2f}")


if __name__ == "__main__":
    main()
