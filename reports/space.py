"""The search space of a stored sweep: Optuna distributions from the trials' tags, or inferred."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping

from optuna.distributions import (
    BaseDistribution,
    CategoricalChoiceType,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    json_to_distribution,
)

from tracking import Run
from tracking.sweep_layout import DISTRIBUTIONS

# A float range spanning this factor or more reads better on a log axis.
_LOG_SPAN = 100.0


def search_space(trials: Iterable[Run]) -> dict[str, BaseDistribution]:
    """Distributions per param: from ``sweeps.distributions`` where stored, else inferred from values.

    Params without a stored distribution that only ever took one value (fixed ones) are left out.
    """
    trials = list(trials)
    stored: dict[str, BaseDistribution] = {}
    # Each distinct tag text once, in the order trials first carry it: the same first
    # distribution per param, without parsing 10,000 copies of one text.
    for raw in dict.fromkeys(run.tags.get(DISTRIBUTIONS) for run in trials):
        for name, dist in _stored_distributions(raw).items():
            stored.setdefault(name, dist)
    values: dict[str, set[str]] = {}
    for run in trials:
        for key, text in run.params.items():
            values.setdefault(key, set()).add(text)
    space: dict[str, BaseDistribution] = {}
    for key in sorted(values):
        if key in stored:
            dist = stored[key]
        elif len(values[key]) > 1:
            dist = infer_distribution(values[key])
        else:
            continue  # a fixed value passed through, not searched
        if not dist.single():
            space[key] = dist
    return space


def _stored_distributions(raw: str | None) -> dict[str, BaseDistribution]:
    if not raw:
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError:
        return {}
    out: dict[str, BaseDistribution] = {}
    if not isinstance(decoded, Mapping):
        return out
    for name, spec in decoded.items():
        # The engine stores distribution_to_json strings; accept already-decoded objects too.
        text = spec if isinstance(spec, str) else json.dumps(spec)
        try:
            out[str(name)] = json_to_distribution(text)
        except (ValueError, KeyError, TypeError):
            continue
    return out


def infer_distribution(texts: Iterable[str]) -> BaseDistribution:
    """A distribution covering the stored texts: int, float (log when wide and positive) or categorical."""
    texts = sorted(set(texts))
    ints = _parse_all(texts, int)
    if ints is not None and all(str(v) == s for v, s in zip(ints, texts, strict=True)):
        return IntDistribution(min(ints), max(ints))
    floats = _parse_all(texts, float)
    if floats is not None and all(math.isfinite(v) for v in floats):
        low, high = min(floats), max(floats)
        return FloatDistribution(low, high, log=low > 0 and high / low >= _LOG_SPAN)
    return CategoricalDistribution(texts)


def _parse_all(texts: list[str], parse: type) -> list | None:
    try:
        return [parse(s) for s in texts]
    except ValueError:
        return None


def param_value(text: str, dist: BaseDistribution) -> float | int | CategoricalChoiceType:
    """The external value of a stored param text under ``dist``; ValueError if it does not fit."""
    if isinstance(dist, CategoricalDistribution):
        for choice in dist.choices:
            if str(choice) == text:
                return choice
        raise ValueError(f"{text!r} is not one of the choices {dist.choices}")
    if isinstance(dist, IntDistribution):
        value: float | int = int(float(text))
    else:
        value = float(text)
    low, high = dist.low, dist.high  # type: ignore[attr-defined]
    if not low <= value <= high:
        raise ValueError(f"{text!r} is outside [{low}, {high}]")
    return value


def is_log(dist: BaseDistribution) -> bool:
    return isinstance(dist, FloatDistribution | IntDistribution) and dist.log
