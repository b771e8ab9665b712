"""Check the SPEC §13 search keys: `enqueue`, `warm_start`, `repeats` and `budget.target`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sweeps.config.checks import describe
from sweeps.config.model import (
    CategoricalParam,
    FixedParam,
    FloatParam,
    IntParam,
    ParamSpec,
    Repeats,
    Scalar,
    WarmStart,
    same_value,
)
from sweeps.errors import did_you_mean

if TYPE_CHECKING:
    from sweeps.config.checks import Checker
    from sweeps.config.loader import KeyPath

__all__ = ["MAX_ENQUEUED", "MAX_REPEATS", "check_enqueue", "check_repeats", "check_warm_start", "space_problem"]

MAX_ENQUEUED = 10_000  # configurations the driver holds in its queue
MAX_REPEATS = 100  # runs per configuration
_SWEEP_ID = re.compile(r"[\w.-]+")


def check_enqueue(c: Checker, value: object, parameters: list[ParamSpec]) -> tuple[dict[str, object], ...]:
    """`enqueue: [{param: value, ...}, ...]`, each value checked against the space like a sampled one."""
    if value is None:
        return ()
    if not isinstance(value, list):
        c.error(("enqueue",), f"expected a list of configurations ({{param: value}} mappings), got {describe(value)}")
        return ()
    if len(value) > MAX_ENQUEUED:
        c.error(("enqueue",), f"expected at most {MAX_ENQUEUED:,} configurations, got {len(value):,}")
        return ()
    by_name = {p.name: p for p in parameters}
    out: list[dict[str, object]] = []
    for i, item in enumerate(value):
        path: KeyPath = ("enqueue", i)
        if not isinstance(item, dict) or not item:
            c.error(path, f"expected a mapping of parameter names to values, got {describe(item)}")
            continue
        ok = True
        for name, given in item.items():
            key = name if isinstance(name, str) else str(name)
            spec = by_name.get(key)
            if spec is None:
                hint = did_you_mean(key, list(by_name)) or f"; the space has: {', '.join(by_name) or 'no parameters'}"
                c.error((*path, key), f"not a parameter of the space{hint}")
                ok = False
                continue
            problem = space_problem(spec, given)
            if problem is None:
                problem = _condition_problem(spec, item)
            if problem is not None:
                c.error((*path, key), problem)
                ok = False
        if ok:
            out.append(dict(item))
    return tuple(out)


def space_problem(spec: ParamSpec, value: object) -> str | None:
    """Why `value` is not a value `spec` could have sampled, or None when it is."""
    if isinstance(spec, FixedParam):
        return None if same_value(value, spec.value) else f"is fixed to {describe(spec.value)}, got {describe(value)}"
    if isinstance(spec, CategoricalParam):
        if any(same_value(value, choice) for choice in spec.choices):
            return None
        return f"expected one of {', '.join(describe(ch) for ch in spec.choices)}, got {describe(value)}"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"expected a number in [{spec.low}, {spec.high}], got {describe(value)}"
    if isinstance(spec, IntParam):
        if not isinstance(value, int) and not float(value).is_integer():
            return f"expected an integer in [{spec.low}, {spec.high}], got {describe(value)}"
        number = int(value)
        if not spec.low <= number <= spec.high:
            return f"expected an integer in [{spec.low}, {spec.high}], got {describe(value)}"
        if (number - spec.low) % spec.step:
            return f"expected {spec.low} + a multiple of step {spec.step}, got {describe(value)}"
        return None
    assert isinstance(spec, FloatParam)
    if not spec.low <= value <= spec.high:
        return f"expected a number in [{spec.low}, {spec.high}], got {describe(value)}"
    if spec.step is not None:
        steps = (value - spec.low) / spec.step
        if abs(steps - round(steps)) > 1e-8:
            return f"expected {spec.low} + a multiple of step {spec.step}, got {describe(value)}"
    return None


def _condition_problem(spec: ParamSpec, item: Mapping[object, object]) -> str | None:
    # A value for a conditional param whose `when` does not hold would never be used.
    values = {k: v for k, v in item.items() if isinstance(k, str)}
    for cond in spec.when:
        if cond.param in values and not cond.holds(values):
            allowed = ", ".join(describe(v) for v in cond.values)
            return f"is only sampled when {cond.param} is {allowed}, and this configuration sets it otherwise"
    return None


def check_warm_start(c: Checker, value: object) -> WarmStart | None:
    """`warm_start: {sweeps: [ID, ...]}` (the sweeps' compatibility is checked against the store at start)."""
    if value is None:
        return None
    path: KeyPath = ("warm_start",)
    d = c.mapping(path, value, ("sweeps",), required=("sweeps",))
    if d is None or "sweeps" not in d:
        return None
    ids = d["sweeps"]
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, list) or not ids:
        c.error((*path, "sweeps"), f"expected a list of sweep ids, got {describe(ids)}")
        return None
    found: list[str] = []
    for i, item in enumerate(ids):
        if isinstance(item, str) and _SWEEP_ID.fullmatch(item):
            found.append(item)
        else:
            c.error((*path, "sweeps", i), f"expected a sweep id (as `sweeps list` prints it), got {describe(item)}")
    return WarmStart(tuple(found)) if len(found) == len(ids) else None


def check_repeats(c: Checker, value: object, parameters: list[ParamSpec]) -> Repeats | None:
    """`repeats: {param: seed, values: [0, 1, 2]}`: `param` must not be searched (it is set per repeat)."""
    if value is None:
        return None
    path: KeyPath = ("repeats",)
    d = c.mapping(path, value, ("param", "values"), required=("param", "values"))
    if d is None or "param" not in d or "values" not in d:
        return None
    param = c.string((*path, "param"), d["param"])
    values = d["values"]
    if not isinstance(values, list) or not 2 <= len(values) <= MAX_REPEATS:
        got = f"{len(values)} value(s)" if isinstance(values, list) else describe(values)
        c.error((*path, "values"), f"expected a list of 2 to {MAX_REPEATS} values (one run each), got {got}")
        return None
    scalars: list[Scalar] = []
    for i, item in enumerate(values):
        if item is None or isinstance(item, str | int | float | bool):
            if any(same_value(item, seen) for seen in scalars):
                c.error((*path, "values", i), f"duplicate value {describe(item)}")
            scalars.append(item)
        else:
            c.error((*path, "values", i), f"expected a number or string, got {describe(item)}")
    if param is None or len(scalars) != len(values):
        return None
    spec = next((p for p in parameters if p.name == param), None)
    if spec is not None and not isinstance(spec, FixedParam):
        c.error(
            (*path, "param"),
            f"'{param}' is searched in `parameters`; the repeated param is set per run: "
            "make it a fixed value or drop it",
        )
        return None
    return Repeats(param=param, values=tuple(scalars))
