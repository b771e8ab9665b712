"""The lineage of a model version, alias/stage history and protected aliases, on every store backend."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tracking import ModelNotFound, RegistryError, TrackingClient
from tracking import sweep_layout as layout
from tracking.errors import PermissionDenied
from tracking.registry.history import held_at, holdings, parse_time
from tracking.registry.lineage import lineage

ENV = {
    "python": "3.11.7",
    "platform": "Linux-x86_64",
    "git_commit": "a" * 40,
    "git_dirty": True,
    "objective_untracked": False,
    "git_diff_sha256": "d" * 64,
    "packages": {"numpy": "2.0.0", "scikit-learn": "1.5.0"},
}


class Constant:
    def predict(self, rows: list[list[float]]) -> list[float]:
        return [1.0 for _ in rows]


def sweep_with_model(client: TrackingClient, values: list[float], model_at: int, other_sweep: bool = True) -> str:
    """A sweep laid out as the engine writes it (docs/data-model.md); the run id of trial ``model_at``."""
    if other_sweep:  # another sweep in the store: the rank must not count its trials
        with client.start_run(experiment="x", tags={layout.KIND: layout.KIND_SWEEP}) as other:
            trial = client.start_run(experiment="x", parent=other.run_id, tags={layout.KIND: layout.KIND_TRIAL})
            with trial:
                trial.log_metric(layout.objective_key("acc"), 99.0)
    tags = {
        layout.KIND: layout.KIND_SWEEP,
        layout.SWEEP_ID: "s-1",
        layout.METRICS: json.dumps([{"name": "acc", "goal": "maximize"}]),
        layout.SAMPLER: "tpe",
        layout.PRUNER: "median",
        "data.train": "train-v3",
    }
    with client.start_run(experiment="x", name="s", tags=tags) as parent:
        parent.log_text("name: s\nstore: postgresql://u:***@db/x\n", "config.yaml")
        parent.log_dict(ENV, "environment.json")
        target = ""
        for number, value in enumerate(values):
            trial_tags = {layout.KIND: layout.KIND_TRIAL, layout.TRIAL_NUMBER: str(number), "data.fold": str(number)}
            with client.start_run(experiment="x", parent=parent.run_id, tags=trial_tags) as trial:
                trial.log_params({"alpha": number})
                trial.log_metric(layout.objective_key("acc"), value)
                if number == model_at:
                    trial.log_model(Constant(), input_example=[[1.0]])
                    target = trial.run_id
    return target


def test_lineage_holds_run_sweep_rank_code_environment_and_audit(client: TrackingClient) -> None:
    run_id = sweep_with_model(client, [0.5, 0.9, 0.7, 0.8], model_at=2)
    v = client.registry.register_model("m", run_id, alias="challenger", reason="best of s-1")
    client.registry.set_alias("m", "champion", v.version, reason="go", actor="alice")
    client.registry.transition_stage("m", v.version, "Production", reason="release", actor="bob")

    found = lineage(client, "m", v.version)
    assert found.model_uri == "models:/m/1"
    assert found.payload_sha256 == v.model_sha256 and len(found.payload_sha256 or "") == 64
    assert found.run_id == run_id and found.run_status == "FINISHED"
    assert found.run_params == {"alpha": "2"}
    assert found.run_metrics == {"objective.acc": 0.7}
    assert found.run_data_tags == {"data.fold": "2"}
    assert found.sweep is not None
    assert (found.sweep.sweep_id, found.sweep.sampler, found.sweep.pruner) == ("s-1", "tpe", "median")
    assert (found.sweep.rank, found.sweep.size, found.sweep.finished) == (3, 4, 4)  # 0.9, 0.8, then 0.7
    assert found.sweep.data_tags == {"data.train": "train-v3"}
    assert "name: s" in (found.sweep.config or "")
    assert (found.code_commit, found.git_dirty, found.diff_sha256) == ("a" * 40, True, "d" * 64)
    assert found.packages == ENV["packages"] and found.python == "3.11.7"
    moves = [(e.action, e.subject, e.actor, e.reason) for e in found.audit]
    assert ("alias", "champion", "alice", "go") in moves
    assert ("stage", "stage", "bob", "release") in moves
    assert moves[0][0] == "register"
    as_json = json.loads(json.dumps(found.to_dict()))
    assert as_json["sweep"]["rank"] == 3 and as_json["code"]["dirty"] is True
    assert as_json["environment"]["package_count"] == 2


def test_lineage_of_an_unknown_model_or_version_is_model_not_found(client: TrackingClient) -> None:
    run_id = sweep_with_model(client, [0.5], model_at=0, other_sweep=False)
    client.registry.register_model("m", run_id)
    with pytest.raises(ModelNotFound, match="no registered model named 'nope'"):
        lineage(client, "nope", 1)
    with pytest.raises(ModelNotFound, match="has no version 7"):
        lineage(client, "m", 7)


def test_history_answers_who_held_champion_and_production_at_any_time(client: TrackingClient) -> None:
    run_id = sweep_with_model(client, [0.5], model_at=0, other_sweep=False)
    for _ in range(3):
        client.registry.register_model("m", run_id)
    reg = client.registry
    reg.set_alias("m", "champion", 1, reason="first", actor="a")
    reg.transition_stage("m", 1, "Production", actor="a")
    reg.set_alias("m", "champion", 2, reason="better", actor="b")
    reg.transition_stage("m", 2, "Production", archive_existing=True, actor="b")
    reg.set_alias("m", "champion", 3, reason="best", actor="c")
    log = reg.audit_log("m")
    intervals = holdings(log)
    moves = [e for e in log if e.action == "alias" and e.subject == "champion"]
    # Just after each move, the version it moved to held @champion.
    for entry, expected in zip(moves, (1, 2, 3), strict=True):
        at = held_at([h for h in intervals if h.subject == "@champion"], entry.at)
        assert [h.version for h in at] == [expected] or entry.at == moves[-1].at
    now = held_at(intervals, log[-1].at + 1)
    assert {(h.subject, h.version) for h in now} >= {("@champion", 3), ("Production", 2), ("Archived", 1)}
    champion = [h for h in intervals if h.subject == "@champion"]
    assert [(h.version, h.actor, h.reason) for h in champion] == [
        (1, "a", "first"),
        (2, "b", "better"),
        (3, "c", "best"),
    ]
    assert champion[0].until == champion[1].since and champion[-1].until is None


def test_parse_time_refuses_bad_future_and_prehistoric_times() -> None:
    created = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    now = created + 86_400_000 * 10
    assert parse_time("2026-01-02T00:00:00Z", created_at=created, now_ms=now) == created + 86_400_000
    assert parse_time("2026-01-02 01:00:00+01:00", created_at=created, now_ms=now) == created + 86_400_000
    with pytest.raises(RegistryError, match="bad time 'yesterday'"):
        parse_time("yesterday", created_at=created, now_ms=now)
    with pytest.raises(RegistryError, match="in the future"):
        parse_time("2027-01-01", created_at=created, now_ms=now)
    with pytest.raises(RegistryError, match="before the model existed"):
        parse_time("2025-12-31T23:59:59Z", created_at=created, now_ms=now)


def test_a_protected_alias_moves_only_with_a_reason_and_promote_honours_it(client: TrackingClient) -> None:
    run_id = sweep_with_model(client, [0.5], model_at=0, other_sweep=False)
    reg = client.registry
    for _ in range(2):
        reg.register_model("m", run_id)
    reg.set_alias("m", "champion", 1)
    reg.set_alias("m", "challenger", 2)
    assert reg.protect_alias("m", "champion", reason="prod traffic", actor="lead") is True
    assert reg.protect_alias("m", "champion") is False
    assert reg.protected_aliases("m") == {"champion"}
    before = reg.audit_log("m")

    with pytest.raises(PermissionDenied, match="protected: moving it needs a reason"):
        reg.set_alias("m", "champion", 2)
    with pytest.raises(PermissionDenied, match="protected"):
        reg.set_alias("m", "champion", 2, reason="   ")
    with pytest.raises(PermissionDenied, match="protected"):
        reg.delete_alias("m", "champion")
    with pytest.raises(PermissionDenied, match="promoting needs a reason"):
        reg.promote("m", "objective.acc")
    with pytest.raises(PermissionDenied, match="protected"):
        reg.register_model("m", run_id, alias="champion")
    assert reg.get_registered_model("m").aliases["champion"] == 1
    assert reg.audit_log("m") == before  # nothing changed, nothing audited
    assert reg.get_registered_model("m").latest_version == 2  # the refused registration left no version

    reg.set_alias("m", "champion", 2, reason="hotfix", actor="lead")
    assert reg.get_registered_model("m").aliases["champion"] == 2
    with pytest.raises(RegistryError, match="needs a reason"):
        reg.unprotect_alias("m", "champion", reason="")
    reg.unprotect_alias("m", "champion", reason="retired", actor="lead")
    with pytest.raises(RegistryError, match="is not protected"):
        reg.unprotect_alias("m", "champion", reason="again")
    reg.set_alias("m", "champion", 1)  # unprotected again: no reason needed
    actions = [(e.action, e.subject, e.actor, e.reason) for e in reg.audit_log("m")]
    assert ("protect", "champion", "lead", "prod traffic") in actions
    assert ("unprotect", "champion", "lead", "retired") in actions
