"""Average ranks (ties share their mean rank) with numpy alone: scipy.stats costs a second to import."""

from __future__ import annotations

import numpy as np

__all__ = ["average_ranks"]


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``, per column of a 2-D array, ties sharing their mean rank:
    `scipy.stats.rankdata`'s default, all columns in one sort and without its per-call checks."""
    columns = values if values.ndim > 1 else values.reshape(-1, 1)
    n = len(columns)
    order = np.argsort(columns, axis=0, kind="stable")
    ordered = np.take_along_axis(columns, order, axis=0)
    starts = np.ones(columns.shape, dtype=bool)  # where a run of equal values begins
    starts[1:] = ordered[1:] != ordered[:-1]
    ends = np.ones(columns.shape, dtype=bool)  # where one ends
    ends[:-1] = starts[1:]
    position = np.arange(n)[:, None]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=0)
    last = np.minimum.accumulate(np.where(ends, position, n - 1)[::-1], axis=0)[::-1]
    ranks = np.empty(columns.shape)
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=0)
    return ranks if values.ndim > 1 else ranks[:, 0]
