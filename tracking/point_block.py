"""Columnar metric points: one run's points as numpy arrays, checked, summarised and written by
the receiver with work per key, not per point (`tracking.point_buffer` builds them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from tracking.entities import MetricPoint
from tracking.errors import InvalidParameter
from tracking.validation import INT64_MAX, INT64_MIN, check_key

__all__ = ["F8", "I8", "KeyGroups", "PointBlock", "SummaryRow", "blocks_from_points", "by_run", "key_dtype", "readonly"]

# (run_id, key, last_value, last_step, last_timestamp, min_value, min_step, max_value, max_step);
# NaN is None, as the store holds it.
SummaryRow = tuple[str, str, float | None, int, int, float | None, int, float | None, int]

I8 = np.dtype("<i8")  # the dtypes of a checked block's steps, timestamps and values
F8 = np.dtype("<f8")
# Bounds of int() of a float timestamp that still fits a BIGINT: both are exact floats.
_TS_LOW, _TS_HIGH = float(INT64_MIN), float(INT64_MAX) + 1.0


@dataclass(frozen=True, slots=True)
class KeyGroups:
    """A block's points sorted by key, arrival order kept within a key; computed once per block."""

    key_ids: np.ndarray  # index into PointBlock.keys of each group
    starts: np.ndarray  # first row of each group in the sorted columns
    lengths: np.ndarray
    order: np.ndarray  # sorted row -> row of the block
    steps: np.ndarray
    values: np.ndarray
    timestamps: np.ndarray
    rising: bool  # each key's steps strictly increase in arrival order: no (key, step) repeats


@dataclass(frozen=True, slots=True, eq=False)
class PointBlock:
    """One run's metric points in columns: point ``i`` is ``keys[key_index[i]]`` at ``steps[i]``.

    The arrays are not to be modified once the block is made (those a block builds itself
    are read-only). ``keys`` may hold keys no point uses. Pickles as five byte strings.
    """

    run_id: str
    keys: tuple[str, ...]
    key_index: np.ndarray  # small unsigned integers
    steps: np.ndarray  # int64
    values: np.ndarray  # float64; NaN and ±inf allowed
    timestamps: np.ndarray  # int64 epoch milliseconds
    _groups: KeyGroups | None = field(default=None, init=False, repr=False)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"PointBlock(run_id={self.run_id!r}, keys={self.keys!r}, points={len(self)})"

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # Raw column bytes rebuilt with np.frombuffer: no per-array pickle machinery, no copy.
        kidx = self.key_index
        return (
            _rebuild,
            (
                self.run_id,
                self.keys,
                kidx.dtype.str,
                kidx.tobytes(),
                np.asarray(self.steps, I8).tobytes(),
                np.asarray(self.values, F8).tobytes(),
                np.asarray(self.timestamps, I8).tobytes(),
            ),
        )

    # -- conversions (tests, loose points) -----------------------------------------------

    @classmethod
    def from_points(cls, points: Sequence[MetricPoint]) -> PointBlock:
        """The block of ``points``, which must all belong to one run."""
        if not points:
            raise ValueError("a point block needs at least one point (its run id comes from them)")
        run_ids, keys, steps, values, timestamps = zip(*points, strict=True)
        run_id = run_ids[0]
        if any(r != run_id for r in run_ids):
            raise ValueError(f"points of several runs cannot make one block: {run_id!r} and others")
        index: dict[str, int] = {}
        key_index = [index.setdefault(k, len(index)) for k in keys]
        return cls(
            run_id,
            tuple(index),
            readonly(np.array(key_index, dtype=key_dtype(len(index)))),
            readonly(np.array(steps, dtype=I8)),
            readonly(np.array(values, dtype=F8)),
            readonly(np.array(timestamps, dtype=I8)),
        )

    def to_points(self) -> list[MetricPoint]:
        keys, columns = self.keys, (self.key_index, self.steps, self.values, self.timestamps)
        return [
            MetricPoint(self.run_id, keys[k], s, v, t)
            for k, s, v, t in zip(*(c.tolist() for c in columns), strict=True)
        ]

    def slice(self, start: int, stop: int) -> PointBlock:
        """Points ``start:stop`` as a block of their own (views, no copy)."""
        return PointBlock(
            self.run_id,
            self.keys,
            self.key_index[start:stop],
            self.steps[start:stop],
            self.values[start:stop],
            self.timestamps[start:stop],
        )

    # -- the receiver's check ------------------------------------------------------------

    def check(self) -> PointBlock:
        """Apply the per-point rules of `tracking.validation` to the whole block at once.

        Each key is checked once; steps, values and timestamps by their dtype and numpy
        min/max. Raises `InvalidParameter` naming the first culprit; returns the block with
        int64/float64 columns (itself when they already are).
        """
        run = self.run_id
        if not isinstance(run, str) or not run:
            raise InvalidParameter(f"point block: run id must be a non-empty string, got {run!r}")
        columns = (self.key_index, self.steps, self.values, self.timestamps)
        if not isinstance(self.keys, tuple) or not all(isinstance(c, np.ndarray) and c.ndim == 1 for c in columns):
            raise InvalidParameter(f"point block of run {run}: keys must be a tuple and columns 1-d numpy arrays")
        odd = [(name, c.dtype) for name, c in zip(_COLUMNS, columns, strict=True) if c.dtype.kind in "OVMm"]
        if odd:  # objects, records, dates: no element-wise message would say what is wrong
            raise InvalidParameter(f"point block of run {run}: {odd[0][0]} must be a numeric array, got {odd[0][1]}")
        n = len(self.steps)
        if any(len(c) != n for c in columns):
            lengths = ", ".join(f"{name} {len(c)}" for name, c in zip(_COLUMNS, columns, strict=True))
            raise InvalidParameter(f"point block of run {run}: its columns differ in length ({lengths})")
        for key in self.keys:
            check_key("metric", key)
        if len(set(self.keys)) != len(self.keys):
            twice = next(k for i, k in enumerate(self.keys) if k in self.keys[:i])
            raise InvalidParameter(f"point block of run {run}: key {twice!r} is listed twice")
        if n == 0:
            return self
        kidx = self.key_index
        if kidx.dtype.kind not in "iu" or int(kidx.min()) < 0 or int(kidx.max()) >= len(self.keys):
            raise InvalidParameter(
                f"point block of run {run}: key_index must hold integers in [0, {len(self.keys)}), "
                f"got {kidx.dtype} from {kidx.min()} to {kidx.max()}"
            )
        steps = self._integers(self.steps, "step")
        values = self._numbers()
        timestamps = self._timestamps()
        if steps is self.steps and values is self.values and timestamps is self.timestamps:
            return self
        return replace(self, steps=steps, values=values, timestamps=timestamps)

    def _key_at(self, row: int) -> str:
        return self.keys[int(self.key_index[row])]

    def _integers(self, column: np.ndarray, what: str) -> np.ndarray:
        if column.dtype == I8:
            return column
        if column.dtype.kind not in "iu":
            raise InvalidParameter(f"metric {self._key_at(0)!r}: {what} must be an integer, got {column[0]!r}")
        if column.dtype.kind == "u" and column.dtype.itemsize == 8:  # the only integer dtype past int64
            too_big = np.flatnonzero(column > INT64_MAX)
            if len(too_big):
                row = int(too_big[0])
                raise InvalidParameter(
                    f"metric {self._key_at(row)!r}: {what} {column[row]} is outside the 64-bit integer range"
                )
        return readonly(column.astype(I8))

    def _numbers(self) -> np.ndarray:
        values = self.values
        if values.dtype == F8:
            return values
        if values.dtype.kind not in "iuf":  # bool, complex, text, objects: as check_metric_value
            v = values[0]
            raise InvalidParameter(f"metric {self._key_at(0)!r}: value must be a number, got {type(v).__name__} {v!r}")
        return readonly(values.astype(F8))

    def _timestamps(self) -> np.ndarray:
        ts = self.timestamps
        if ts.dtype.kind != "f":
            return self._integers(ts, "timestamp")
        bad = np.flatnonzero(~((ts >= _TS_LOW) & (ts < _TS_HIGH)))  # NaN fails both comparisons
        if len(bad):
            row = int(bad[0])
            raise InvalidParameter(
                f"metric {self._key_at(row)!r}: timestamp must be epoch milliseconds within the 64-bit "
                f"integer range, got {ts[row]!r}"
            )
        return readonly(ts.astype(I8))  # truncates toward zero, as int() does per point

    # -- per-key work --------------------------------------------------------------------

    def groups(self) -> KeyGroups:
        """The points grouped by key (computed on first use, then kept with the block)."""
        if self._groups is None:
            object.__setattr__(self, "_groups", _group(self))
        return self._groups  # type: ignore[return-value]

    def summaries(self) -> list[SummaryRow]:
        """One row per key with points, as `metric_writer.summarise` makes from the same points:
        last by step (the first point of the highest step), min and max ignoring NaN (first wins)."""
        if not len(self):
            return []
        g = self.groups()
        steps, values, starts = g.steps, g.values, g.starts
        if g.rising:  # each key's steps only go up: its last point is its last step
            last = np.append(starts[1:], len(steps)) - 1
        else:
            last = _first_of(steps == np.repeat(np.maximum.reduceat(steps, starts), g.lengths), starts)
        least = _first_of(values == np.repeat(np.fmin.reduceat(values, starts), g.lengths), starts)
        most = _first_of(values == np.repeat(np.fmax.reduceat(values, starts), g.lengths), starts)
        rows = np.concatenate((last, least, most))
        at_steps, at_values = steps[rows].tolist(), values[rows].tolist()
        stored = [None if v != v else v for v in at_values]  # NaN is stored as NULL
        stamps = g.timestamps[last].tolist()
        keys, run, k = self.keys, self.run_id, len(starts)
        return [
            (run, keys[key], stored[i], at_steps[i], stamps[i], stored[k + i], at_steps[k + i],
             stored[2 * k + i], at_steps[2 * k + i])
            for i, key in enumerate(g.key_ids.tolist())
        ]  # fmt: skip

    def has_repeats(self) -> bool:
        """True when two points of the block share a (key, step)."""
        g = self.groups()
        if g.rising:  # the usual case
            return False
        key_ids = np.repeat(g.key_ids, g.lengths)
        order = np.lexsort((g.steps, key_ids))
        steps, key_ids = g.steps[order], key_ids[order]
        return bool(((steps[1:] == steps[:-1]) & (key_ids[1:] == key_ids[:-1])).any())

    def max_steps(self) -> dict[str, int]:
        """The highest step of each key with points."""
        if not len(self):
            return {}
        g = self.groups()
        tops = np.maximum.reduceat(g.steps, g.starts).tolist()
        return {self.keys[k]: top for k, top in zip(g.key_ids.tolist(), tops, strict=True)}


_COLUMNS = ("key_index", "steps", "values", "timestamps")


def _rebuild(
    run_id: str, keys: tuple[str, ...], kdtype: str, kidx: bytes, steps: bytes, values: bytes, ts: bytes
) -> PointBlock:
    return PointBlock(
        run_id,
        keys,
        np.frombuffer(kidx, kdtype),
        np.frombuffer(steps, I8),
        np.frombuffer(values, F8),
        np.frombuffer(ts, I8),
    )


def readonly(a: np.ndarray) -> np.ndarray:
    """``a``, marked read-only: a block's columns do not change once it is made."""
    a.flags.writeable = False
    return a


def key_dtype(n_keys: int) -> np.dtype:
    """The narrowest unsigned dtype of a key index over ``n_keys`` keys."""
    return np.dtype(np.uint8 if n_keys <= 1 << 8 else np.uint16 if n_keys <= 1 << 16 else np.uint32)


def _group(block: PointBlock) -> KeyGroups:
    kidx = block.key_index
    n = len(kidx)
    order = np.argsort(kidx, kind="stable")  # radix sort for small ints; keeps arrival order per key
    ordered = kidx[order]
    change = ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(np.concatenate(([n > 0], change)))
    steps = np.asarray(block.steps, I8)[order]
    # Between keys the step may drop; within a key it must rise.
    rising = n < 2 or bool(((steps[1:] > steps[:-1]) | change).all())
    return KeyGroups(
        key_ids=ordered[starts],
        starts=starts,
        lengths=np.diff(np.append(starts, n)),
        order=order,
        steps=steps,
        values=np.asarray(block.values, F8)[order],
        timestamps=np.asarray(block.timestamps, I8)[order],
        rising=rising,
    )


def _first_of(hit: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per group, the first row where ``hit`` holds; the group's first row where it never does
    (a key whose values are all NaN keeps its first point's step, as `summarise` does)."""
    n = len(hit)
    first = np.minimum.reduceat(np.where(hit, np.arange(n), n), starts)
    return np.where(first == n, starts, first)


def by_run(points: Iterable[MetricPoint]) -> dict[str, list[MetricPoint]]:
    """``points`` per run id, each run's list in the points' order."""
    runs: dict[str, list[MetricPoint]] = {}
    for p in points:
        runs.setdefault(p.run_id, []).append(p)
    return runs


def blocks_from_points(points: Sequence[MetricPoint]) -> list[PointBlock]:
    """One block per run of ``points``, each keeping its points' order."""
    return [PointBlock.from_points(ps) for ps in by_run(points).values()]
