"""The producer side of point blocks: a trial's metric points appended to typed arrays at the
cost of a few appends per point, each key checked once, handed over as a `PointBlock`."""

from __future__ import annotations

import time
from array import array
from collections.abc import Mapping

import numpy as np

from tracking.point_block import F8, I8, PointBlock, key_dtype, readonly
from tracking.validation import INT64_MAX, INT64_MIN, check_key, check_metric_value, check_step, check_timestamp

__all__ = ["PointBuffer"]


class PointBuffer:
    """The producer side: validates each key once, appends points to typed arrays, hands them
    over as a `PointBlock`. Knows each key's next step and last value. Not thread-safe."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._index: dict[str, int] = {}
        self._keys: list[str] = []
        # Next step per key, up to date for the first `_synced` pending points: only `step=None`
        # needs it, so points with explicit steps skip the bookkeeping.
        self._next_step: list[int] = []
        self._synced = 0
        self._taken_last: dict[str, float] = {}  # last values of points already taken
        self._reset()

    def _reset(self) -> None:
        self._kidx = array("I")
        self._steps = array("q")
        self._values = array("d")
        self._stamps = array("q")
        self._synced = 0

    def __len__(self) -> int:
        return len(self._steps)

    def log(self, metrics: Mapping[str, object], step: int | None = None, timestamp: int | None = None) -> None:
        """Append one point per key (`step=None`: each key's next step); all or nothing."""
        index = self._index
        try:
            ids = [index[k] for k in metrics]
        except KeyError:  # a key seen for the first time: checked once, here
            ids = [index[k] if k in index else self._add_key(k) for k in metrics]
        numbers = list(metrics.values())
        for v in numbers:
            if type(v) is not float:  # a float is by far the common case; others get the full check
                numbers = [check_metric_value(k, v) for k, v in metrics.items()]
                break
        ts = int(time.time() * 1000) if timestamp is None else check_timestamp(next(iter(metrics), ""), timestamp)
        n = len(ids)
        if step is None:
            if self._synced != len(self._steps):
                self._sync_next_steps()
            nxt = self._next_step
            chosen = [nxt[i] for i in ids]
            if n and max(chosen) > INT64_MAX:
                check_step(next(iter(metrics)), max(chosen))  # raises: the next step would not fit a BIGINT
            for i in ids:
                nxt[i] += 1
            self._steps.extend(chosen)
            self._synced += n
        else:
            if type(step) is not int or not INT64_MIN <= step <= INT64_MAX:
                step = check_step("step", step)
            self._steps.extend([step] * n)
        self._kidx.extend(ids)
        self._values.extend(numbers)
        self._stamps.extend([ts] * n)

    def _add_key(self, key: str) -> int:
        check_key("metric", key)
        self._index[key] = i = len(self._keys)
        self._keys.append(key)
        self._next_step.append(0)
        return i

    def _sync_next_steps(self, used: np.ndarray | None = None) -> None:
        start = self._synced
        kidx = np.frombuffer(self._kidx, np.uint32)[start:]
        tops = np.full(len(self._keys), INT64_MIN, dtype=I8)
        np.maximum.at(tops, kidx, np.frombuffer(self._steps, I8)[start:])
        if used is None or start:
            used = np.bincount(kidx, minlength=len(self._keys)) > 0
        nxt = self._next_step
        for i, top in zip(np.flatnonzero(used).tolist(), tops[used].tolist(), strict=True):
            if nxt[i] <= top:
                nxt[i] = top + 1
        self._synced = len(self._steps)

    def last(self, key: str) -> float | None:
        """The latest value logged for ``key``, or None if it never was."""
        i = self._index.get(key)
        if i is None:
            return None
        for row in range(len(self._kidx) - 1, -1, -1):  # rare: the objective's end, on a small buffer
            if self._kidx[row] == i:
                return self._values[row]
        return self._taken_last.get(key)

    def take(self) -> PointBlock | None:
        """The points appended since the last take, as a block (None if there are none)."""
        if not self._steps:
            return None
        kidx = np.frombuffer(self._kidx, np.uint32)
        values = np.frombuffer(self._values, F8)
        keys = tuple(self._keys)
        latest = np.full(len(keys), -1, dtype=I8)  # each key's last row, for last()
        np.maximum.at(latest, kidx, np.arange(len(kidx)))
        used = latest >= 0
        for i, v in zip(np.flatnonzero(used).tolist(), values[latest[used]].tolist(), strict=True):
            self._taken_last[keys[i]] = v
        if self._synced != len(self._steps):
            self._sync_next_steps(used)
        if not used.all():  # ship only the keys this block uses
            kidx = (np.cumsum(used) - 1)[kidx]
            keys = tuple(k for k, u in zip(keys, used.tolist(), strict=True) if u)
        block = PointBlock(
            self.run_id,
            keys,
            readonly(kidx.astype(key_dtype(len(keys)))),
            readonly(np.frombuffer(self._steps, I8)),
            readonly(values),
            readonly(np.frombuffer(self._stamps, I8)),
        )
        self._reset()  # the block's arrays keep the old buffers alive; new appends go elsewhere
        return block
