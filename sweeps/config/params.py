"""Check the `parameters:` search space: types, bounds, choices and `when` conditions."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sweeps.config.checks import describe
from sweeps.config.model import (
    CategoricalParam,
    Condition,
    FixedParam,
    FloatParam,
    IntParam,
    ParamSpec,
    Scalar,
    same_value,
)
from sweeps.errors import did_you_mean

if TYPE_CHECKING:
    from sweeps.config.checks import Checker
    from sweeps.config.loader import KeyPath

__all__ = ["PARAM_TYPES", "check_parameters"]

PARAM_TYPES = ("float", "int", "categorical")
_KEYS = {
    "float": ("type", "low", "high", "log", "step", "when"),
    "int": ("type", "low", "high", "log", "step", "when"),
    "categorical": ("type", "choices", "when"),
}
_MAX_STEPS = 10**15
_MAX_INT = 2**53
_REQUIRED = {"float": ("low", "high"), "int": ("low", "high"), "categorical": ("choices",)}


def check_parameters(c: Checker, value: object) -> list[ParamSpec]:
    """The parameter specs of `parameters:` (None or empty: no search space)."""
    if value is None:
        return []
    if not isinstance(value, dict):
        c.error(("parameters",), f"expected a mapping of parameter names, got {describe(value)}")
        return []
    specs: list[ParamSpec] = []
    for key, spec in value.items():
        path: KeyPath = ("parameters", key if isinstance(key, str) else str(key))
        if not isinstance(key, str) or not key.strip():
            c.error(path, f"parameter names must be non-empty strings, got {describe(key)}")
            continue
        parsed = _parameter(c, path, key, spec)
        if parsed is not None:
            specs.append(parsed)
    _check_conditions(c, specs)
    return specs


def _is_scalar(value: object) -> bool:
    if isinstance(value, float):
        return not math.isnan(value)
    return value is None or isinstance(value, str | int | bool)


def _parameter(c: Checker, path: KeyPath, name: str, spec: object) -> ParamSpec | None:
    if not isinstance(spec, dict):
        return FixedParam(name=name, value=spec)
    if "type" not in spec:
        c.error(
            path,
            "a search-space mapping needs `type: float | int | categorical` (a fixed value must be a scalar or a list)",
        )
        return None
    kind = c.choice((*path, "type"), spec["type"], PARAM_TYPES)
    if kind is None:
        return None
    d = c.mapping(path, spec, _KEYS[kind], required=_REQUIRED[kind])
    if d is None:
        return None
    when = _when(c, (*path, "when"), d["when"]) if "when" in d else ()
    if kind == "categorical":
        choices = _choices(c, (*path, "choices"), d["choices"]) if "choices" in d else None
        return CategoricalParam(name, choices, when or ()) if choices else None
    log = c.get(d, "log", path, c.boolean, False)
    if kind == "int":
        return _int_param(c, path, name, d, bool(log), when)
    low = _as_float(c.get(d, "low", path, c.number))
    high = _as_float(c.get(d, "high", path, c.number))
    step = c.get(d, "step", path, lambda p, v: c.number(p, v, positive=True, nullable=True))
    ok = low is not None and high is not None and when is not None and log is not None
    if low is not None and high is not None and low >= high:
        c.error((*path, "low"), f"low must be less than high, got low={low}, high={high}")
        ok = False
    elif low is not None and high is not None and not math.isfinite(high - low):
        c.error((*path, "high"), f"range too large to sample: low={low}, high={high}")
        ok = False
    if log and low is not None and low <= 0:
        c.error((*path, "low"), f"must be > 0 with log: true, got {describe(low)}")
        ok = False
    if log and d.get("step") is not None:
        c.error((*path, "step"), "step and log: true cannot be combined for a float parameter")
        ok = False
    elif ok and step is not None and (high - low) / step > _MAX_STEPS:  # type: ignore[operator]
        # Optuna rounds the range to the step with 28-digit decimals; past that it fails.
        c.error((*path, "step"), f"step {step} is too small for the range (over {_MAX_STEPS:.0e} steps)")
        ok = False
    if not ok or ("step" in d and d["step"] is not None and step is None):
        return None
    return FloatParam(name, low, high, bool(log), step, when)  # type: ignore[arg-type]


def _as_float(value: float | None) -> float | None:
    return None if value is None else float(value)  # checked finite by Checker.number


def _int_param(
    c: Checker,
    path: KeyPath,
    name: str,
    d: dict[str, object],
    log: bool,
    when: tuple[Condition, ...] | None,
) -> IntParam | None:
    low = c.get(d, "low", path, c.integer)
    high = c.get(d, "high", path, c.integer)
    step = c.get(d, "step", path, lambda p, v: c.integer(p, v, minimum=1), 1)
    ok = None not in (low, high, step, when) and ("log" not in d or isinstance(d["log"], bool))
    for key, value in (("low", low), ("high", high)):
        if value is not None and abs(value) > _MAX_INT:
            # Optuna's samplers work in floats, exact only up to 2**53.
            c.error((*path, key), f"must be within ±2**53 ({_MAX_INT}), got {describe(value)}")
            ok = False
    if low is not None and high is not None and low > high:
        c.error((*path, "low"), f"low must not exceed high, got low={low}, high={high}")
        ok = False
    if log and low is not None and low < 1:
        c.error((*path, "low"), f"must be >= 1 with log: true, got {low}")
        ok = False
    if log and step not in (None, 1):
        c.error((*path, "step"), "an int parameter with log: true must have step 1")
        ok = False
    return IntParam(name, low, high, log, step, when) if ok else None  # type: ignore[arg-type]


def _choices(c: Checker, path: KeyPath, value: object) -> tuple[Scalar, ...] | None:
    if not isinstance(value, list) or not value:
        c.error(path, f"expected a non-empty list of choices, got {describe(value)}")
        return None
    ok = True
    for i, item in enumerate(value):
        if not _is_scalar(item):
            c.error((*path, i), f"choices must be strings, numbers, booleans or null, got {describe(item)}")
            ok = False
        elif any(same_value(item, earlier) for earlier in value[:i]):
            c.error((*path, i), f"duplicate choice {describe(item)}")
            ok = False
    return tuple(value) if ok else None


def _when(c: Checker, path: KeyPath, value: object) -> tuple[Condition, ...] | None:
    if not isinstance(value, dict) or not value:
        c.error(
            path,
            "expected a mapping like {penalty: elasticnet} "
            f"(parameter: value or list of values), got {describe(value)}",
        )
        return None
    conditions: list[Condition] = []
    for key, allowed in value.items():
        cpath: KeyPath = (*path, key if isinstance(key, str) else str(key))
        values = allowed if isinstance(allowed, list) else [allowed]
        if not isinstance(key, str):
            c.error(cpath, f"expected a parameter name, got {describe(key)}")
        elif not values or not all(_is_scalar(v) for v in values):
            c.error(cpath, f"expected a value or a non-empty list of values (scalars), got {describe(allowed)}")
        else:
            conditions.append(Condition(key, tuple(values)))
    return tuple(conditions) if len(conditions) == len(value) else None


def _check_conditions(c: Checker, specs: list[ParamSpec]) -> None:
    by_name = {s.name: s for s in specs}
    for spec in specs:
        for cond in spec.when:
            path: KeyPath = ("parameters", spec.name, "when", cond.param)
            target = by_name.get(cond.param)
            if cond.param == spec.name:
                c.error(path, "a parameter cannot depend on itself")
            elif target is None:
                known = [n for n in by_name if n != spec.name]
                c.error(path, f"refers to unknown parameter '{cond.param}'{did_you_mean(cond.param, known)}")
            elif isinstance(target, CategoricalParam):
                for v in cond.values:
                    if not any(same_value(v, choice) for choice in target.choices):
                        names = [str(x) for x in target.choices]
                        hint = did_you_mean(str(v), names) if isinstance(v, str) else ""
                        c.error(path, f"{describe(v)} is not a choice of '{cond.param}' ({', '.join(names)}){hint}")
            elif isinstance(target, FixedParam) and not any(same_value(v, target.value) for v in cond.values):
                c.error(path, f"never holds: '{cond.param}' is fixed to {describe(target.value)}")
    _check_cycles(c, by_name)


def _check_cycles(c: Checker, by_name: dict[str, ParamSpec]) -> None:
    state: dict[str, str] = {}  # "open" while on the current trail, then "done"

    def walk(name: str, trail: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "open":
            cycle = [*trail[trail.index(name) :], name]
            c.error(("parameters", name, "when"), f"conditions form a cycle: {' -> '.join(cycle)}")
            return
        state[name] = "open"
        trail.append(name)
        for cond in by_name[name].when:
            if cond.param in by_name and cond.param != name:
                walk(cond.param, trail)
        trail.pop()
        state[name] = "done"

    for name in by_name:
        walk(name, [])
