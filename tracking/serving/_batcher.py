"""Dynamic batching: requests that arrive while the model is busy are scored together in one ``predict``.

scikit-learn spends most of a small ``predict`` on checking its input, the same for 1 row as
for 1,000; concurrent clients share that cost instead of queueing behind it. Nothing waits on
a timer: a batch is whatever arrived during the previous one. Only models whose ``predict``
scores rows independently are batched (the ``sklearn`` flavor); if a joint ``predict`` fails,
each request is scored on its own, so an error reaches only the request that caused it.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

import numpy as np
from starlette.concurrency import run_in_threadpool

from tracking.models._signature import is_pandas_frame
from tracking.serving._errors import PredictionFailed
from tracking.serving._follower import ServedModel

MAX_BATCH_ROWS = 20_000


@dataclass(slots=True)
class _Item:
    data: object  # prepared input: already checked against the signature
    rows: int
    future: asyncio.Future[object]


def batchable(served: ServedModel) -> bool:
    return "sklearn" in served.model.metadata.flavors


def _rows(data: object) -> int | None:
    if isinstance(data, np.ndarray) and data.ndim >= 1:
        return int(data.shape[0])
    if is_pandas_frame(data):
        return len(data)  # type: ignore[arg-type]
    return None


def predict_one(served: ServedModel, data: object) -> object:
    try:
        return served.model.raw.predict(data)  # type: ignore[attr-defined]
    except Exception as exc:  # input that fits the signature can still be refused by the model itself
        raise PredictionFailed(f"the model could not score this input: {type(exc).__name__}: {exc}") from exc


class Batcher:
    """Scores the requests of one served model; a swap makes a new one, so a batch never mixes versions."""

    def __init__(self, served: ServedModel, max_rows: int = MAX_BATCH_ROWS) -> None:
        self.served = served
        self.max_rows = max_rows
        self._pending: list[_Item] = []
        self._draining = False

    async def predict(self, data: object) -> object:
        rows = _rows(data)
        if rows is None or rows > self.max_rows:
            return await run_in_threadpool(predict_one, self.served, data)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._pending.append(_Item(data, rows, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._take()
                try:
                    outcomes = await run_in_threadpool(self._score, batch)
                except BaseException as exc:  # the loop is shutting down: nobody waits for these any more
                    outcomes = [exc] * len(batch)
                for item, outcome in zip(batch, outcomes, strict=True):
                    if item.future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        item.future.set_exception(outcome)
                    else:
                        item.future.set_result(outcome)
        finally:
            self._draining = False

    def _take(self) -> tuple[list[_Item], list[_Item]]:
        total = 0
        for i, item in enumerate(self._pending):
            total += item.rows
            if total > self.max_rows and i > 0:
                return self._pending[:i], self._pending[i:]
        return self._pending, []

    def _score(self, batch: list[_Item]) -> list[object]:
        if len(batch) > 1:
            joint = _joined(batch)
            if joint is not None:
                try:
                    predictions = self.served.model.raw.predict(joint)  # type: ignore[attr-defined]
                    parts = _split(predictions, [item.rows for item in batch])
                    if parts is not None:
                        return parts
                except Exception:  # one bad request spoils a joint predict: score each alone below
                    pass
        outcomes: list[object] = []
        for item in batch:
            try:
                outcomes.append(predict_one(self.served, item.data))
            except PredictionFailed as exc:
                outcomes.append(exc)
        return outcomes


def _joined(batch: list[_Item]) -> object | None:
    first = batch[0].data
    if isinstance(first, np.ndarray):
        arrays = [item.data for item in batch]
        if all(isinstance(a, np.ndarray) and a.shape[1:] == first.shape[1:] and a.dtype == first.dtype for a in arrays):
            return np.concatenate(arrays)  # type: ignore[arg-type]
        return None
    if is_pandas_frame(first):
        import pandas as pd

        columns = list(first.columns)  # type: ignore[attr-defined]
        dtypes = list(first.dtypes)  # type: ignore[attr-defined]
        frames = [item.data for item in batch]
        if all(is_pandas_frame(f) and list(f.columns) == columns and list(f.dtypes) == dtypes for f in frames):  # type: ignore[attr-defined]
            return pd.concat(frames, ignore_index=True)  # type: ignore[arg-type]
    return None


def _split(predictions: object, sizes: list[int]) -> list[object] | None:
    """``predictions`` cut back into one part per request; None if it does not have one row per input row."""
    total = sum(sizes)
    if isinstance(predictions, np.ndarray) and predictions.ndim >= 1 and predictions.shape[0] == total:
        cuts = np.cumsum(sizes)[:-1]
        return list(np.split(predictions, cuts))
    if (is_pandas_frame(predictions) or type(predictions).__name__ == "Series") and len(predictions) == total:  # type: ignore[arg-type]
        starts = [0, *np.cumsum(sizes).tolist()]
        return [predictions.iloc[a:b] for a, b in itertools.pairwise(starts)]  # type: ignore[attr-defined]
    return None
