"""The report's figure decisions: scales, colours, ticks and labels, read off the data and figure objects."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.axis import Axis
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from synthetic import SweepSet

import reports
import tracking
from reports import plots, sections
from reports.plot_data import (
    CurveSeries,
    TrialRow,
    _get_curves_info,
    _get_history_info,
    _get_parallel_info,
    _get_pareto_info,
    _get_slice_info,
    average_ranks,
    choose_scale,
)
from reports.sweep import Objective
from tracking import Metric

LOSS = Objective("val_loss", "minimize")
ACCURACY = Objective("val_accuracy", "maximize")
LONG = "the_learning_rate_of_the_optimizer"


def _rows(values: Sequence[float], params: Sequence[dict[str, str]] | None = None) -> list[TrialRow]:
    """Finished trials in leaderboard order (the order of ``values`` is taken as the ranking)."""
    return [
        TrialRow(f"run{i:03d}", i, f"trial-{i}", "FINISHED", (v,), rank=i + 1, params=(params or [{}] * len(values))[i])
        for i, v in enumerate(values)
    ]


def _renderer(fig: Figure) -> RendererBase:
    return FigureCanvasAgg(fig).get_renderer()


def _drawn_tick_labels(axis: Axis, renderer: RendererBase) -> list[tuple[float, str, Bbox]]:
    """(location, text, box) of every tick label drawn inside the axis's view; rotated ones in their own frame."""
    low, high = sorted(axis.get_view_interval())
    slack = (high - low) * 1e-9
    out = []
    for locs, labels in (
        (axis.get_majorticklocs(), axis.get_majorticklabels()),
        (axis.get_minorticklocs(), axis.get_minorticklabels()),
    ):
        for loc, label in zip(locs, labels, strict=False):
            if low - slack <= loc <= high + slack and label.get_text():
                out.append((float(loc), label.get_text(), _upright_box(label, renderer)))
    return out


def _upright_box(label: Text, renderer: RendererBase) -> Bbox:
    """The label's box in a frame turned with its text: boxes of labels rotated alike overlap there exactly
    when the labels do (their screen boxes would overlap for any tight run of slanted labels)."""
    degrees = label.get_rotation()
    if not degrees:
        return label.get_window_extent(renderer)
    assert label.get_rotation_mode() == "anchor"  # turned about its anchor point, which the maths below assumes
    label.set_rotation(0)
    box = label.get_window_extent(renderer)
    label.set_rotation(degrees)
    x, y = label.get_transform().transform(label.get_position())
    cos, sin = math.cos(math.radians(-degrees)), math.sin(math.radians(-degrees))
    dx, dy = cos * x - sin * y - x, sin * x + cos * y - y
    return Bbox.from_extents(box.x0 + dx, box.y0 + dy, box.x1 + dx, box.y1 + dy)


def _assert_inside(fig: Figure) -> None:
    renderer = _renderer(fig)
    box = fig.get_tightbbox(renderer)  # everything drawn, labels included, in inches
    width, height = fig.get_size_inches()
    assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, (box.bounds, (width, height))


def _assert_no_overlap(fig: Figure) -> None:
    renderer = _renderer(fig)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            boxes = [box for _, _, box in _drawn_tick_labels(axis, renderer)]
            clashes = [(a.bounds, b.bounds) for a, b in combinations(boxes, 2) if a.overlaps(b)]
            assert not clashes, f"{axis.axis_name} tick labels overlap: {clashes}"


# -- 5. the scale decision, in the shared data layer -------------------------------------------


@pytest.mark.parametrize(
    ("values", "scale"),
    [
        ([2.3, 0.5, 0.02, 0.004], "log"),  # a loss falling 575x: 2.8 decades
        ([0.91, 0.93, 0.95], "linear"),
        ([1.0, 50.0], "linear"),  # 1.7 decades
        ([0.0, 10.0, 1e-4], "linear"),  # a zero cannot go on a log axis
        ([-1.0, 10.0, 1e4], "linear"),
        ([5.0, math.inf, 1e-3, math.nan], "log"),  # a diverged trial does not decide the scale
        ([3.0], "linear"),
    ],
)
def test_log_scale_only_for_positive_values_spanning_more_than_two_decades(values: list[float], scale: str) -> None:
    assert choose_scale(np.array(values)) == scale


def test_every_value_axis_carries_its_scale() -> None:
    losses = [0.003, 0.01, 0.2, 1.5, 9.0]
    rows = _rows(losses, [{"lr": str(10.0**-i)} for i in range(len(losses))])
    space: dict[str, BaseDistribution] = {"lr": FloatDistribution(1e-5, 1.0, log=True)}
    history = _get_history_info(rows, LOSS)
    assert history.scale == "log"
    assert _get_slice_info(rows, space, LOSS).scale == "log"
    assert _get_parallel_info(rows, space, LOSS).axes[-1].scale == "log"
    assert _get_parallel_info(rows, space, LOSS).axes[0].scale == "log"  # a log param
    points = [Metric("val_loss", v, 0, s) for s, v in enumerate([10.0, 1.0, 0.05])]
    curves = _get_curves_info(rows, {"run000": {"val_loss": points}}, "val_loss", ["run000"], [])
    assert curves.scale == "log"
    two = [
        TrialRow(f"r{i}", i, "t", "FINISHED", (a, b), rank=1, front=1)
        for i, (a, b) in enumerate([(1, 0.9), (1e4, 0.8)])
    ]
    assert _get_pareto_info(two, [LOSS, ACCURACY]).scales == ("log", "linear")
    # Accuracies stay linear; the figures follow the decision.
    assert _get_history_info(_rows([0.9, 0.91, 0.93]), ACCURACY).scale == "linear"
    assert plots.draw_history([history]).axes[0].get_yscale() == "log"
    assert plots.draw_curves(curves).axes[0].get_yscale() == "log"


# -- 4. colour that one outlier cannot saturate ------------------------------------------------


def test_one_diverged_trial_leaves_the_other_colours_spread() -> None:
    values = [0.10, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17, 0.18, 1e6]  # minimize; the last one diverged
    info = _get_parallel_info(_rows(values, [{"x": str(v)} for v in range(10)]), {"x": FloatDistribution(0, 10)}, LOSS)
    colour = info.colour
    assert colour[0] == 1.0 and colour[-1] == 0.0  # best and worst at the ends of the colour map
    rest = colour[:-1]
    assert rest.max() - rest.min() > 0.8, rest  # a linear scale put all nine within 1e-6 of each other
    assert np.all(np.diff(colour) < 0)  # ordered: each worse trial a step darker


# -- 1. labels inside the figure; 2. tick labels that do not collide ---------------------------


def _wide_space() -> tuple[list[TrialRow], dict[str, BaseDistribution]]:
    space: dict[str, BaseDistribution] = {
        LONG: FloatDistribution(1e-10, 100.0, log=True),  # twelve decades on one small axis
        "units_in_the_first_hidden_layer": IntDistribution(1, 100_000),
        "narrow_log": FloatDistribution(2e-3, 8e-3, log=True),  # less than a decade
        "optimizer": CategoricalDistribution(["adam_with_decoupled_weight_decay", "sgd", "rmsprop"]),
    }
    rng = np.random.default_rng(0)
    params = [
        {
            LONG: repr(float(10 ** rng.uniform(-10, 2))),
            "units_in_the_first_hidden_layer": str(int(rng.integers(1, 100_000))),
            "narrow_log": repr(float(10 ** rng.uniform(math.log10(2e-3), math.log10(8e-3)))),
            "optimizer": str(rng.choice(["adam_with_decoupled_weight_decay", "sgd", "rmsprop"])),
        }
        for _ in range(30)
    ]
    return _rows(list(rng.uniform(0.1, 0.9, 30)), params), space


def test_first_parallel_axis_label_lies_inside_the_figure() -> None:
    rows, space = _wide_space()
    fig = plots.draw_parallel(_get_parallel_info(rows, {LONG: space[LONG], **space}, LOSS))
    renderer = _renderer(fig)
    first = fig.axes[0].get_xticklabels()[0]
    assert first.get_text().startswith("the_learning")
    assert first.get_window_extent(renderer).x0 >= 0  # it started 1.5 inches left of the edge
    _assert_inside(fig)


def test_slice_panels_keep_labels_inside_and_apart() -> None:
    rows, space = _wide_space()
    info = _get_slice_info(rows, space, LOSS)
    for panel in info.panels:
        fig = plots.draw_slice(info, panel)
        _assert_inside(fig)
        _assert_no_overlap(fig)
        ticks = _drawn_tick_labels(fig.axes[0].xaxis, _renderer(fig))
        assert len(ticks) >= 2, (panel.name, [t for _, t, _ in ticks])  # thinned, never emptied
        if panel.integer:
            assert all(float(loc).is_integer() for loc, _, _ in ticks)


def test_every_figure_keeps_its_labels_inside() -> None:
    rows, space = _wide_space()
    history = _get_history_info(rows, Objective("a_validation_loss_with_a_rather_long_name", "minimize"))
    series = tuple(
        CurveSeries(f"#{i} a-trial-with-a-long-name-{i}", np.arange(5.0), np.linspace(1, 0.1, 5) * i, False)
        for i in range(1, 4)
    )
    curves = _get_curves_info(rows, {}, "loss", [], [])._replace(series=series, metric="a_long_metric_name")
    two = [TrialRow(f"r{i}", i, "t", "FINISHED", (i + 1.0, 1.0 / (i + 1)), rank=i + 1, front=1) for i in range(6)]
    for fig in (
        plots.draw_history([history]),
        plots.draw_curves(curves),
        plots.draw_parallel(_get_parallel_info(rows, space, LOSS)),
        plots.draw_pareto(_get_pareto_info(two, [LOSS, Objective("seconds_to_fit_the_model", "minimize")]), 1.0),
    ):
        _assert_inside(fig)
        _assert_no_overlap(fig)


# -- 3. whole trial numbers ---------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 3, 7])
def test_history_marks_whole_trials_only(count: int) -> None:
    fig = plots.draw_history([_get_history_info(_rows([0.5 + i / 100 for i in range(count)]), ACCURACY)])
    ticks = _drawn_tick_labels(fig.axes[0].xaxis, _renderer(fig))
    assert ticks and all(loc.is_integer() and "." not in text for loc, text, _ in ticks), ticks


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, width=32), max_size=40), st.sampled_from(["maximize", "minimize"]))
def test_best_so_far_line_keeps_every_change_and_the_last_trial(values: list[float], goal: str) -> None:
    """The step line held from each change point is the running best at every trial."""
    info = _get_history_info(_rows(values), Objective("m", goal))  # type: ignore[arg-type]
    sign = 1.0 if goal == "minimize" else -1.0
    running = np.minimum.accumulate(sign * np.array(values)) * sign if values else np.array([])
    held = np.searchsorted(info.best_numbers, info.numbers, side="right") - 1
    assert np.array_equal(info.best_values[held], running)
    assert len(values) == 0 or info.best_numbers[-1] == info.numbers[-1]
    assert len(set(info.best_values[:-1])) == len(info.best_values[:-1])  # no point that changes nothing


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-3, 3).map(float), st.floats(allow_nan=False)), max_size=60))
def test_average_ranks_match_scipy(values: list[float]) -> None:
    from scipy.stats import rankdata

    assert np.array_equal(average_ranks(np.array(values, dtype=float)), rankdata(values))


# -- 7, 8, 9, 10: the texts of the tabular sections ---------------------------------------------


def _sections(client: tracking.TrackingClient, sweep_id: str) -> tuple[reports.Sweep, list[TrialRow]]:
    sweep = reports.load_sweep(client, sweep_id)
    order = reports.rank_trials(reports.trial_records(sweep), [o.goal for o in sweep.objectives])
    return sweep, sections.trial_rows(sweep, order)


def test_single_seed_verdict_says_why_once(report_client: tracking.TrackingClient, sweeps: SweepSet) -> None:
    verdict = sections.runner_up(*_sections(report_client, sweeps.mixed.sweep_id)).verdict
    assert verdict is not None and verdict.verdict == "cannot tell"
    shown = f"{verdict.verdict}: {verdict.message}"
    assert shown.count("cannot tell") == 1 and "two seeds" in shown, shown


def test_multi_objective_runner_up_compares_by_the_first_objective(
    report_client: tracking.TrackingClient, sweeps: SweepSet
) -> None:
    sweep, rows = _sections(report_client, sweeps.multi.sweep_id)
    result = sections.runner_up(sweep, rows)
    by_accuracy = sorted((r for r in rows if r.rank is not None), key=lambda r: -r.values[0])
    assert result.comparison is not None
    assert [r.run_id for r in result.comparison.runs] == [by_accuracy[0].run_id, by_accuracy[1].run_id]
    assert result.rule is not None and "Pareto front" in result.rule and "val_accuracy" in result.rule
    # Not the leaderboard's first two, which are the two ends of the front here.
    assert [r.run_id for r in result.comparison.runs] != [rows[0].run_id, rows[1].run_id]


def test_only_objectives_have_a_goal(report_client: tracking.TrackingClient, sweeps: SweepSet) -> None:
    comparison = sections.runner_up(*_sections(report_client, sweeps.mixed.sweep_id)).comparison
    assert comparison is not None
    goals = {m.key: m.goal for m in comparison.metrics}
    assert goals["objective.val_accuracy"] == "maximize" and goals["val_accuracy"] == "maximize"
    assert goals["train_loss"] is None  # not an objective: no direction claimed from its name
    train = next(m for m in comparison.metrics if m.key == "train_loss")
    assert train.best == (None, None) and all(v is not None for v in train.final)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("FloatingPointError: trial 17 diverged", "FloatingPointError: trial # diverged"),
        ("ValueError: shape (3, 4) at step 12, lr=1e-05", "ValueError: shape (#, #) at step #, lr=#"),
        ("RuntimeError: object at 0x7f3a9c diverged after 2.5 s", "RuntimeError: object at # diverged after # s"),
        ("TypeError: float32 is not conv2d", "TypeError: float32 is not conv2d"),  # numbers inside names stay
        ('Traceback (most recent call last):\n  File "x.py", line 3, in f\nKeyError: 42\n', "KeyError: #"),
    ],
)
def test_errors_are_grouped_by_type_and_message_with_numbers_masked(error: str, kind: str) -> None:
    assert sections.error_kind(error) == kind


def test_commonest_errors_count_one_kind_once(report_client: tracking.TrackingClient, sweeps: SweepSet) -> None:
    # Five failures "FloatingPointError: trial N diverged" with five different N are one kind of error.
    failures = sections.failures(*_sections(report_client, sweeps.failed.sweep_id))
    assert failures.by_error == (("FloatingPointError: trial # diverged", 5),)
