"""Champion/challenger promotion: read or re-score both versions, then decide by ``min_delta``."""

from __future__ import annotations

import math
from collections.abc import Callable

from tracking.errors import RegistryError
from tracking.models import LoadedModel, load_model
from tracking.registry._host import RegistryHost
from tracking.registry.entities import ModelVersion, PromotionDecision
from tracking.sweep_layout import objective_key

GOALS = ("maximize", "minimize")
Scorer = Callable[[LoadedModel, object, object], float]


def check_goal(goal: str, min_delta: float) -> str:
    normalised = str(goal).lower()
    if normalised not in GOALS:
        raise RegistryError(f"goal must be 'maximize' or 'minimize', not {goal!r}")
    if not (math.isfinite(min_delta) and min_delta >= 0):
        raise RegistryError(f"min_delta must be a finite number >= 0, not {min_delta!r}")
    return normalised


def run_metric(client: RegistryHost, version: ModelVersion, metric: str) -> float:
    """The last logged value of ``metric`` (or the sweep's objective key for it) in the version's run."""
    if version.run_id is None:
        raise RegistryError(f"{version.name} v{version.version} has no source run to read {metric!r} from")
    run = client.get_run(version.run_id)
    for key in (metric, objective_key(metric)):
        summary = run.metrics.get(key)
        if summary is not None:
            if math.isnan(summary.last):
                raise RegistryError(f"run {run.run_id} of {version.name} v{version.version} logged {key} as NaN")
            return summary.last
    logged = ", ".join(sorted(run.metrics)) or "none"
    raise RegistryError(
        f"run {run.run_id} of {version.name} v{version.version} has no metric {metric!r} "
        f"(nor {objective_key(metric)}); it logged: {logged}"
    )


def data_metric(
    client: RegistryHost, version: ModelVersion, data: tuple[object, object], scorer: Scorer | None
) -> float:
    """Score the version on ``data = (X, y)``: ``scorer(model, X, y)``, else the model's own ``score``."""
    try:
        x, y = data
    except (TypeError, ValueError):
        raise RegistryError("data must be a pair (X, y)") from None
    model = load_model(version.uri, client)
    value = float(scorer(model, x, y)) if scorer is not None else model.score(x, y)
    if math.isnan(value):
        raise RegistryError(f"{version.name} v{version.version} scored NaN on the given data")
    return value


def decide(
    *,
    name: str,
    metric: str,
    goal: str,
    min_delta: float,
    champion: int | None,
    challenger: int,
    champion_value: float | None,
    challenger_value: float,
    evaluated_on: str,
) -> PromotionDecision:
    """Promote when there is no champion, or the challenger is better by at least ``min_delta``."""

    def result(promoted: bool, reason: str) -> PromotionDecision:
        return PromotionDecision(
            name=name,
            metric=metric,
            goal=goal,
            promoted=promoted,
            champion_before=champion,
            champion_after=challenger if promoted else champion,
            challenger_version=challenger,
            champion_value=champion_value,
            challenger_value=challenger_value,
            min_delta=min_delta,
            reason=reason,
            evaluated_on=evaluated_on,
        )

    shown = f"{metric}={challenger_value:.6g}"
    if champion is None or champion_value is None:
        return result(True, f"no @champion yet: challenger v{challenger} ({shown}) becomes champion")
    if champion == challenger:
        return result(False, f"@challenger is already @champion (v{champion}, {shown}); nothing to promote")
    gain = challenger_value - champion_value if goal == "maximize" else champion_value - challenger_value
    versus = f"challenger v{challenger} ({shown}) vs champion v{champion} ({metric}={champion_value:.6g}), {goal}"
    # Compare with a relative tolerance so that a gain of exactly min_delta is not lost to rounding.
    enough = gain > min_delta or math.isclose(gain, min_delta, rel_tol=1e-9, abs_tol=1e-12)
    if gain > 0 and enough:
        return result(True, f"{versus}: challenger wins by {gain:.6g} (min_delta {min_delta:g})")
    if gain > 0:
        return result(
            False, f"{versus}: challenger better by only {gain:.6g}, less than min_delta {min_delta:g}; champion stays"
        )
    return result(False, f"{versus}: challenger does not beat the champion; champion stays")
