"""The `Trial` object on its own, against a recording channel: buffering, steps, checks, pruning."""

from __future__ import annotations

import pickle
from collections.abc import Mapping

import optuna
import pytest
from optuna.distributions import BaseDistribution, IntDistribution

from sweeps import Trial, TrialPruned
from sweeps.engine.executor import run_trial
from sweeps.engine.messages import Outbox, PruningGate, TrialAssignment
from tracking import InvalidParameter, ParamConflict
from tracking.point_block import PointBlock


class Recorder:
    """A TrialChannel that records calls; prunes from `prune_from` on."""

    def __init__(self, prune_from: int | None = None) -> None:
        self.prune_from = prune_from
        self.outboxes: list[Outbox] = []
        self.reports: list[tuple[int, float]] = []
        self.suggested: list[tuple[str, BaseDistribution]] = []

    def suggest(self, number: int, name: str, distribution: BaseDistribution, outbox: Outbox) -> object:
        self.outboxes.append(outbox)
        self.suggested.append((name, distribution))
        return 2 if isinstance(distribution, IntDistribution) else 0.5

    def report(self, number: int, step: int, value: float, outbox: Outbox) -> bool:
        self.outboxes.append(outbox)
        self.reports.append((step, value))
        return self.prune_from is not None and step >= self.prune_from

    def send(self, number: int, outbox: Outbox) -> None:
        self.outboxes.append(outbox)

    def put_artifacts(self, number: int, files: Mapping[str, bytes]) -> None:
        raise AssertionError("not shipped in these tests")


def assignment(
    pruning: PruningGate | None = None, metric_names: tuple[str, ...] = ("loss",), **params: object
) -> TrialAssignment:
    return TrialAssignment(
        number=4,
        run_id="run-4",
        params=params,
        attempt=0,
        artifact_uri="/nowhere",
        ship_artifacts=False,
        pruning=pruning or PruningGate(),
        metric_names=metric_names,
    )


def test_points_are_buffered_and_steps_assigned_per_key() -> None:
    channel = Recorder()
    trial = Trial(assignment(x=1.0), channel)
    trial.log_metric("loss", 0.5)
    trial.log_metric("loss", 0.4)
    trial.log_metrics({"loss": 0.3, "acc": 0.9})
    trial.log_metric("acc", 0.95, step=7)
    trial.log_metric("acc", 0.96)
    assert channel.outboxes == []  # nothing sent yet: batched
    outbox = trial.take_outbox()
    assert [(p.key, p.step, p.value) for p in outbox.points] == [
        ("loss", 0, 0.5),
        ("loss", 1, 0.4),
        ("loss", 2, 0.3),
        ("acc", 0, 0.9),
        ("acc", 7, 0.95),
        ("acc", 8, 0.96),
    ]
    assert all(p.run_id == "run-4" for p in outbox.points)
    assert not trial.take_outbox()


def test_points_travel_as_one_compact_block() -> None:
    trial = Trial(assignment(), Recorder(), max_buffered=2_000)
    for step in range(100):
        trial.log_metrics({f"m{k}": step / 7 for k in range(10)}, step=step)
    outbox = trial.take_outbox()
    assert isinstance(outbox.block, PointBlock) and outbox.block.run_id == "run-4" and len(outbox.block) == 1_000
    assert outbox.block.check() is outbox.block  # what the coordinator runs: nothing to convert
    assert len(pickle.dumps(outbox, protocol=5)) < 27 * 1_000  # 25 B per point, plus the keys once
    assert trial.take_outbox().block is None


def test_a_full_buffer_is_sent() -> None:
    channel = Recorder()
    trial = Trial(assignment(), channel, max_buffered=10)
    for i in range(25):
        trial.log_metric("m", float(i))
    assert [len(o.points) for o in channel.outboxes] == [10, 10]


def test_bad_values_fail_in_the_objective() -> None:
    trial = Trial(assignment(), Recorder())
    with pytest.raises(InvalidParameter, match="must be a number"):
        trial.log_metric("loss", "high")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match="step must be an integer"):
        trial.log_metric("loss", 1.0, step=1.5)  # type: ignore[arg-type]
    trial.log_metric("nan_ok", float("nan"))


def test_params_are_immutable() -> None:
    trial = Trial(assignment(x=1.0), Recorder())
    trial.log_param("x", 1.0)  # same value: fine
    trial.log_params({"extra": "a"})
    with pytest.raises(ParamConflict, match="'x'"):
        trial.log_param("x", 2.0)
    with pytest.raises(ParamConflict, match="'extra'"):
        trial.log_param("extra", "b")
    assert dict(trial.take_outbox().params) == {"extra": "a"}


def test_report_raises_when_the_pruner_says_stop() -> None:
    channel = Recorder(prune_from=2)
    trial = Trial(assignment(PruningGate(enabled=True, warmup_steps=1)), channel)
    trial.log_metric("loss", 1.0, step=0)
    trial.report(1.0, step=0)  # in warm-up: recorded locally, no round trip
    assert channel.reports == [] and not trial.should_prune()
    trial.report(0.9, step=1)
    assert channel.reports == [(1, 0.9)]
    sent = channel.outboxes[-1]
    # Both reports are points of the block; only the one the pruner has not seen is repeated for Optuna.
    assert sent.reports == ((0, 1.0),)
    assert [(p.key, p.step, p.value) for p in sent.points] == [
        ("loss", 0, 1.0),
        ("intermediate.loss", 0, 1.0),
        ("intermediate.loss", 1, 0.9),
    ]
    with pytest.raises(TrialPruned, match="pruned at step 2") as info:
        trial.report(0.8, step=2)
    assert isinstance(info.value, optuna.TrialPruned) and trial.should_prune()


def test_no_pruner_means_no_round_trip() -> None:
    channel = Recorder(prune_from=0)
    trial = Trial(assignment(), channel)
    for step in range(5):
        trial.report(float(step), step)
    outbox = trial.take_outbox()
    assert channel.outboxes == [] and outbox.reports == tuple((s, float(s)) for s in range(5))
    assert [(p.key, p.step, p.value) for p in outbox.points] == [("intermediate.loss", s, float(s)) for s in range(5)]


def test_a_full_buffer_of_reports_is_sent_as_points() -> None:
    channel = Recorder()
    trial = Trial(assignment(), channel, max_buffered=4)
    trial.log_metric("loss", 1.0)
    for step in range(3):
        trial.report(0.5, step)
    [sent] = channel.outboxes  # the metric point and three reports fill the buffer
    assert len(sent.points) == 4 and len(sent.reports) == 3 and not trial.take_outbox()


@pytest.mark.parametrize(
    ("names", "objective", "expected"),
    [
        (("loss",), lambda t: 0.25, [("objective.loss", 0, 0.25)]),
        (("loss", "acc"), lambda t: {"acc": 0.9, "loss": 0.1}, [("objective.loss", 0, 0.1), ("objective.acc", 0, 0.9)]),
        # A pruned trial's last report stands as its objective value (docs/data-model.md).
        (
            ("loss",),
            lambda t: [t.report(v, s) for s, v in enumerate((3.0, 2.0))] and 1 / 0,
            [("objective.loss", 0, 2.0)],
        ),
        (("loss", "acc"), lambda t: t.report(2.0, 0) or exec("raise optuna.TrialPruned()", {"optuna": optuna}), []),
        (("loss",), lambda t: exec("raise optuna.TrialPruned()", {"optuna": optuna}), []),  # never reported
        (("loss",), lambda t: t.report(2.0, 0) or 1 / 0, []),  # failed: no objective value
    ],
    ids=["single", "multi", "pruned", "pruned-multi", "pruned-unreported", "failed"],
)
def test_objective_values_travel_as_points_of_the_final_block(names, objective, expected) -> None:  # type: ignore[no-untyped-def]
    outcome = run_trial(objective, assignment(PruningGate(enabled=True), metric_names=names), Recorder(prune_from=1))
    objective_points = [(p.key, p.step, p.value) for p in outcome.outbox.points if p.key.startswith("objective.")]
    assert objective_points == expected
    if outcome.state == "complete":
        assert outcome.values == tuple(v for _, _, v in expected)


def test_suggest_keeps_known_values_and_asks_for_new_ones() -> None:
    channel = Recorder()
    trial = Trial(assignment(x=0.25), channel)
    assert trial.suggest_float("x", 0.0, 1.0) == 0.25  # sampled from the config already
    assert trial.suggest_int("layers", 1, 4) == 2
    assert trial.suggest_int("layers", 1, 4) == 2  # asked once
    assert [name for name, _ in channel.suggested] == ["layers"]
    assert trial.params == {"x": 0.25, "layers": 2}


def test_user_attrs_become_tags() -> None:
    trial = Trial(assignment(), Recorder())
    trial.set_user_attr("note", {"a": 1})
    trial.set_tag("team", "vision")
    assert trial.user_attrs == {"note": {"a": 1}}
    assert dict(trial.take_outbox().tags) == {"user_attr.note": '{"a": 1}', "team": "vision"}


@pytest.mark.parametrize(
    ("objective", "state", "values", "error"),
    [
        (lambda t: 0.5, "complete", (0.5,), None),
        (lambda t: {"loss": 2, "other": 1}, "complete", (2.0,), None),
        (lambda t: t.log_metric("loss", 0.25), "complete", (0.25,), None),
        (lambda t: None, "failed", None, "never logged the metric 'loss'"),
        (lambda t: float("nan"), "failed", None, "is NaN"),
        (lambda t: "best", "failed", None, "expected a number or a dict"),
        (lambda t: 1 / 0, "failed", None, "ZeroDivisionError"),
        (lambda t: exec("raise optuna.TrialPruned()", {"optuna": optuna}), "pruned", None, None),
    ],
)
def test_outcomes(objective, state, values, error) -> None:  # type: ignore[no-untyped-def]
    outcome = run_trial(objective, assignment(), Recorder())
    assert outcome.state == state and outcome.values == values
    if error:
        assert error in outcome.error
