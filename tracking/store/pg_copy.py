"""PostgreSQL binary COPY of point blocks, encoded with numpy: every row has a fixed width
(two widths: a NULL value has no bytes), so a block becomes one structured array."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from tracking.point_block import PointBlock

COPY_METRICS = "COPY metrics (series_id, step, value, timestamp) FROM STDIN (FORMAT binary)"
COPY_STAGING = "COPY metrics_staging (series_id, step, value, timestamp, arrival) FROM STDIN (FORMAT binary)"

_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, no flags, no header extension
_TRAILER = b"\xff\xff"
# A row is its field count, then each field as its length and big-endian bytes. A NULL value
# has length -1 and no bytes.
_SERIES_STEP = [("fields", ">i2"), ("series_len", ">i4"), ("series", ">i8"), ("step_len", ">i4"), ("step", ">i8")]
_VALUE = [("value_len", ">i4"), ("value", ">f8")]
_NULL = [("value_len", ">i4")]
_TIMESTAMP = [("ts_len", ">i4"), ("ts", ">i8")]
_ARRIVAL = [("arrival_len", ">i4"), ("arrival", ">i8")]


def encode(parts: Sequence[tuple[PointBlock, np.ndarray, np.ndarray | None]]) -> Iterator[bytes]:
    """A binary COPY stream of every point of ``parts``, a chunk per block, so the server can
    parse one block while the next is encoded.

    Each part is a block, the series id of each of its keys (aligned with ``block.keys``) and,
    for the staging table, each point's arrival number in the batch. Rows are written grouped
    by key (neighbouring rows land in the same index pages), so with ``arrival`` each row
    carries its place in the batch.
    """
    yield _HEADER
    for block, series_of_key, arrival in parts:
        if len(block):
            yield b"".join(_block_rows(block, series_of_key, arrival))
    yield _TRAILER


def _block_rows(block: PointBlock, series_of_key: np.ndarray, arrival: np.ndarray | None) -> list[bytes]:
    g = block.groups()
    series = np.repeat(series_of_key[g.key_ids], g.lengths)
    columns = [series, g.steps, g.values, g.timestamps, None if arrival is None else arrival[g.order]]
    null = np.isnan(g.values)
    if not null.any():
        return [_rows(columns, with_value=True)]
    # Rare: rows with a value and rows stored as NULL have different widths.
    return [
        _rows([None if c is None else c[keep] for c in columns], with_value=with_value)
        for keep, with_value in ((~null, True), (null, False))
        if keep.any()
    ]


def _rows(columns: list[np.ndarray | None], *, with_value: bool) -> bytes:
    series, steps, values, stamps, arrival = columns
    layout = _SERIES_STEP + (_VALUE if with_value else _NULL) + _TIMESTAMP + (_ARRIVAL if arrival is not None else [])
    rows = np.empty(len(steps), np.dtype(layout))  # type: ignore[arg-type]
    rows["fields"] = 4 if arrival is None else 5
    rows["series_len"] = rows["step_len"] = rows["ts_len"] = 8
    rows["series"] = series
    rows["step"] = steps
    if with_value:
        rows["value_len"] = 8
        rows["value"] = values
    else:
        rows["value_len"] = -1
    rows["ts"] = stamps
    if arrival is not None:
        rows["arrival_len"] = 8
        rows["arrival"] = arrival
    return rows.tobytes()
