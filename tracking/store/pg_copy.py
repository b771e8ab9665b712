"""PostgreSQL binary COPY of point blocks, encoded with numpy: every row of one (run, key)
starts with the same bytes, and the rest of a row has a fixed width."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from struct import pack

import numpy as np

from tracking.point_block import PointBlock

COPY_METRICS = "COPY metrics (run_id, key, step, value, timestamp) FROM STDIN (FORMAT binary)"
COPY_STAGING = "COPY metrics_staging (run_id, key, step, value, timestamp, arrival) FROM STDIN (FORMAT binary)"

_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, no flags, no header extension
_TRAILER = b"\xff\xff"
# A row after its (run, key) prefix; the prefix ends with the step's length. A NULL value has
# length -1 and no bytes, so rows holding NaN get a layout of their own.
_VALUE = [("step", ">i8"), ("value_len", ">i4"), ("value", ">f8"), ("ts_len", ">i4"), ("ts", ">i8")]
_NULL = [("step", ">i8"), ("value_len", ">i4"), ("ts_len", ">i4"), ("ts", ">i8")]
_ARRIVAL = [("arrival_len", ">i4"), ("arrival", ">i8")]


def encode(parts: Sequence[tuple[PointBlock, np.ndarray | None]]) -> Iterator[bytes]:
    """A binary COPY stream of every point of ``parts``, a chunk per block, so the server can
    parse one block while the next is encoded. Rows are grouped by key, so their order is
    lost: with ``arrival`` arrays (one number per point) each row carries its arrival too."""
    yield _HEADER
    for block, arrival in parts:
        if len(block):
            yield b"".join(_block_rows(block, arrival))
    yield _TRAILER


def _block_rows(block: PointBlock, arrival: np.ndarray | None) -> list[np.ndarray]:
    g = block.groups()
    ordered_arrival = None if arrival is None else arrival[g.order]
    null = np.isnan(g.values)
    if not null.any():
        columns = (g.steps, g.values, g.timestamps, ordered_arrival)
        return _rows(block, g.key_ids, g.starts, g.lengths, columns, with_value=True)
    # Rare: split the block into rows with a value and rows stored as NULL.
    key_rows = np.repeat(g.key_ids, g.lengths)
    out = []
    for keep, with_value in ((~null, True), (null, False)):
        if keep.any():
            kept = key_rows[keep]
            starts = np.flatnonzero(np.concatenate(([True], kept[1:] != kept[:-1])))
            lengths = np.diff(np.append(starts, len(kept)))
            columns = (
                g.steps[keep],
                g.values[keep],
                g.timestamps[keep],
                None if ordered_arrival is None else ordered_arrival[keep],
            )
            out += _rows(block, kept[starts], starts, lengths, columns, with_value=with_value)
    return out


def _rows(
    block: PointBlock,
    key_ids: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    columns: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None],
    *,
    with_value: bool,
) -> list[np.ndarray]:
    steps, values, stamps, arrival = columns
    layout = np.dtype((_VALUE if with_value else _NULL) + (_ARRIVAL if arrival is not None else []))
    tail = np.empty(len(steps), layout)
    tail["step"] = steps
    tail["value_len"] = 8 if with_value else -1
    if with_value:
        tail["value"] = values
    tail["ts_len"] = 8
    tail["ts"] = stamps
    if arrival is not None:
        tail["arrival_len"] = 8
        tail["arrival"] = arrival
    tail_bytes = tail.view(np.uint8).reshape(len(steps), layout.itemsize)
    fields = 5 if arrival is None else 6
    out = []
    for key_id, start, length in zip(key_ids.tolist(), starts.tolist(), lengths.tolist(), strict=True):
        prefix = _prefix(block.run_id, block.keys[key_id], fields)
        rows = np.empty((length, len(prefix) + layout.itemsize), np.uint8)
        rows[:, : len(prefix)] = prefix
        rows[:, len(prefix) :] = tail_bytes[start : start + length]
        out.append(rows)
    return out


@lru_cache(maxsize=16_384)
def _prefix(run_id: str, key: str, fields: int) -> np.ndarray:
    """Field count, run id and key as length-prefixed UTF-8, and the step's length (8)."""
    run, name = run_id.encode(), key.encode()
    return np.frombuffer(pack(">hi", fields, len(run)) + run + pack(">i", len(name)) + name + pack(">i", 8), np.uint8)
