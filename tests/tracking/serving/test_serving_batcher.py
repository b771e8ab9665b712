"""Dynamic batching: concurrent requests share one ``predict``, each gets its own rows back, and an
error reaches only the request that caused it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

import tracking
from tests.tracking.serving.support import iris_tree, register, rows
from tracking.serving import PredictionFailed, ServedModel
from tracking.serving._batcher import Batcher


class Recording:
    """Stands in for the estimator: the first column times ten, refusing any row holding -1."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.calls.append(len(x))
        if (x == -1).any():
            raise ValueError("a row holds -1")
        return x[:, 0] * 10


@pytest.fixture
def served(tmp_path: Path) -> ServedModel:
    with tracking.connect(f"sqlite:///{tmp_path / 'store.db'}", artifacts=str(tmp_path / "a")) as client:
        register(client, "iris", iris_tree(2), rows(5))
        model = tracking.load_model("models:/iris/1", client)
    model.raw = Recording()
    return ServedModel(model, "models:/iris/1", "iris", 1, model.metadata.sha256, time.time())


def requests(count: int) -> list[np.ndarray]:
    return [np.full((1 + i % 3, 4), float(i)) for i in range(count)]


async def score_all(batcher: Batcher, inputs: list[np.ndarray]) -> list[object]:
    return await asyncio.gather(*(batcher.predict(x) for x in inputs), return_exceptions=True)


def test_concurrent_requests_share_one_predict_and_get_their_own_rows(served: ServedModel) -> None:
    inputs = requests(20)
    answers = asyncio.run(score_all(Batcher(served), inputs))
    for x, answer in zip(inputs, answers, strict=True):
        np.testing.assert_array_equal(answer, x[:, 0] * 10)  # type: ignore[arg-type]
    assert served.model.raw.calls == [sum(len(x) for x in inputs)]  # type: ignore[attr-defined]


def test_a_bad_request_fails_alone(served: ServedModel) -> None:
    inputs = requests(10)
    inputs[4] = np.full((2, 4), -1.0)
    answers = asyncio.run(score_all(Batcher(served), inputs))
    assert isinstance(answers[4], PredictionFailed) and "a row holds -1" in str(answers[4])
    for i, (x, answer) in enumerate(zip(inputs, answers, strict=True)):
        if i != 4:
            np.testing.assert_array_equal(answer, x[:, 0] * 10)  # type: ignore[arg-type]
    assert served.model.raw.calls[0] == sum(len(x) for x in inputs) and len(served.model.raw.calls) == 11  # type: ignore[attr-defined]


def test_batches_stay_under_the_row_limit(served: ServedModel) -> None:
    inputs = [np.full((4, 4), float(i)) for i in range(10)]
    answers = asyncio.run(score_all(Batcher(served, max_rows=10), inputs))
    assert all(not isinstance(a, BaseException) for a in answers)
    assert max(served.model.raw.calls) <= 10 and sum(served.model.raw.calls) == 40  # type: ignore[attr-defined]
