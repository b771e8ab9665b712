"""The SPEC §13 config keys: `enqueue` checked against the space with line numbers, `warm_start`,
`repeats`, `budget.target` and the `asha` pruner name."""

from __future__ import annotations

import textwrap
from pathlib import Path

import optuna
import pytest

from sweeps.config import ConfigError, load_config

HEAD = """\
name: s
objective: mod:fn
metric: {name: loss, goal: minimize}
parameters:
  alpha: {type: float, low: 1.0e-6, high: 0.1, log: true}
  penalty: {type: categorical, choices: [l2, l1, elasticnet]}
  l1_ratio: {type: float, low: 0.0, high: 1.0, step: 0.25, when: {penalty: elasticnet}}
  epochs: {type: int, low: 5, high: 50, step: 5}
  seed: 0
"""


def load(tmp_path: Path, tail: str) -> object:
    path = tmp_path / "sweep.yaml"
    path.write_text(HEAD + textwrap.dedent(tail), encoding="utf-8")
    return load_config(path)


def problems(tmp_path: Path, tail: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, tail)
    return [str(p) for p in info.value.problems]


def test_enqueue_is_kept_in_order_and_round_trips(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        """\
        enqueue:
          - {alpha: 1.0e-4, penalty: l2}
          - {penalty: elasticnet, l1_ratio: 0.5, epochs: 10, seed: 0}
        """,
    )
    assert cfg.enqueue == (
        {"alpha": 1e-4, "penalty": "l2"},
        {"penalty": "elasticnet", "l1_ratio": 0.5, "epochs": 10, "seed": 0},
    )  # type: ignore[attr-defined]
    assert load_config(cfg.to_dict()) == cfg  # type: ignore[attr-defined]


def test_enqueue_values_are_checked_against_the_space_with_their_lines(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        enqueue:
          - {alpha: 0.5}
          - {penalty: l3}
          - {epochs: 7}
          - {penalty: l2, l1_ratio: 0.5}
          - {l1_ratio: 0.3, penalty: elasticnet}
          - {alhpa: 0.01}
          - {seed: 1}
          - 3
        """,
    )
    sweep = str(tmp_path / "sweep.yaml")
    assert found == [
        f"{sweep}:11: enqueue[0].alpha: expected a number in [1e-06, 0.1], got 0.5",
        f"{sweep}:12: enqueue[1].penalty: expected one of 'l2', 'l1', 'elasticnet', got 'l3'",
        f"{sweep}:13: enqueue[2].epochs: expected 5 + a multiple of step 5, got 7",
        f"{sweep}:14: enqueue[3].l1_ratio: is only sampled when penalty is 'elasticnet', "
        "and this configuration sets it otherwise",
        f"{sweep}:15: enqueue[4].l1_ratio: expected 0.0 + a multiple of step 0.25, got 0.3",
        f"{sweep}:16: enqueue[5].alhpa: not a parameter of the space (did you mean 'alpha'?)",
        f"{sweep}:17: enqueue[6].seed: is fixed to 0, got 1",
        f"{sweep}:18: enqueue[7]: expected a mapping of parameter names to values, got 3",
    ]


def test_warm_start_repeats_and_target(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        """\
        budget: {trials: 5, target: 0.01}
        warm_start: {sweeps: [old-1a2b3c4d]}
        repeats: {param: seed, values: [0, 1, 2]}
        """,
    )
    assert cfg.budget.target == 0.01  # type: ignore[attr-defined]
    assert cfg.warm_start.sweeps == ("old-1a2b3c4d",)  # type: ignore[attr-defined]
    assert (cfg.repeats.param, cfg.repeats.values) == ("seed", (0, 1, 2))  # type: ignore[attr-defined]
    assert load_config(cfg.to_dict()) == cfg  # type: ignore[attr-defined]


def test_bad_warm_start_repeats_and_target_are_refused_by_key(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        budget: {target: high}
        warm_start: {sweeps: [], from: x}
        repeats: {param: alpha, values: [1, 1]}
        """,
    )
    text = "\n".join(found)
    assert "budget.target: expected a number or null, got 'high'" in text
    assert "warm_start.from: unknown key 'from'" in text
    assert "warm_start.sweeps: expected a list of sweep ids" in text
    assert "repeats.values[1]: duplicate value 1" in text
    one = problems(tmp_path, "repeats: {param: alpha, values: [1, 2]}\n")
    assert any("repeats.param: 'alpha' is searched in `parameters`" in p for p in one)


def test_a_target_needs_a_single_metric(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "name: m\nobjective: mod:fn\nmetrics: [{name: a, goal: maximize}, {name: b, goal: minimize}]\n"
        "budget: {target: 1.0}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"budget\.target: a target needs one metric"):
        load_config(path)


def test_asha_is_successive_halving(tmp_path: Path) -> None:
    from sweeps.config import build_pruner

    cfg = load(tmp_path, "pruner: {name: asha, min_resource: 2, reduction_factor: 3}\n")
    pruner = build_pruner(cfg.pruner)  # type: ignore[attr-defined]
    assert isinstance(pruner, optuna.pruners.SuccessiveHalvingPruner)
    assert problems(tmp_path, "pruner: {name: asha, percentile: 3}\n")[0].endswith("unknown option for asha")


def test_history_window_wraps_the_sampler_and_the_pruner(tmp_path: Path) -> None:
    from sweeps.config import build_pruner, build_sampler
    from sweeps.config.windowed import WindowedPruner, WindowedSampler

    cfg = load(
        tmp_path,
        "sampler: {name: tpe, history_window: 50, n_ei_candidates: 8}\npruner: {name: median, history_window: 20}\n",
    )
    sampler, pruner = build_sampler(cfg.sampler), build_pruner(cfg.pruner)  # type: ignore[attr-defined]
    assert isinstance(sampler, WindowedSampler) and sampler.window == 50
    assert isinstance(sampler.base, optuna.samplers.TPESampler)
    assert isinstance(pruner, WindowedPruner) and pruner.window == 20
    assert load_config(cfg.to_dict()) == cfg  # type: ignore[attr-defined]
    found = problems(tmp_path, "sampler: {name: grid, history_window: 5}\npruner: {name: median, history_window: 0}\n")
    assert any("sampler.history_window: 'grid' reads no history" in p for p in found)
    assert any("pruner.history_window: expected a positive integer or null, got 0" in p for p in found)


def test_a_windowed_study_view_sees_the_last_trials_only() -> None:
    from sweeps.config.windowed import WindowedSampler

    seen: list[int] = []

    class Spy(optuna.samplers.RandomSampler):
        def sample_independent(self, study, trial, name, dist):  # type: ignore[no-untyped-def]
            seen.append(len(study.get_trials(deepcopy=False)))
            return super().sample_independent(study, trial, name, dist)

    study = optuna.create_study(sampler=WindowedSampler(Spy(seed=0), window=3))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=6)
    assert seen == [1, 2, 3, 3, 3, 3]  # the running trial counts; never more than the window
