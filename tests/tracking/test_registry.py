"""The model registry: version numbers, aliases, stages, audit log, promotion, concurrent registration."""

from __future__ import annotations

import ast
import dataclasses
import functools
import multiprocessing as mp
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

import tracking
from tests.conftest import SQL_STORE_PARAMS
from tracking import ModelError, ModelNotFound, RegistryError, TrackingClient
from tracking.errors import StoreError
from tracking.registry import (
    AuditEntry,
    ModelRegistry,
    ModelVersion,
    PromotionDecision,
    RegisteredModel,
    Stage,
    check_alias,
)


@functools.cache
def diabetes() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train/test split of sklearn's diabetes set; imported lazily so spawned workers start fast."""
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    x, y = load_diabetes(return_X_y=True)
    return tuple(train_test_split(x, y, test_size=0.3, random_state=0))  # type: ignore[return-value]


def fitted(kind: str) -> object:
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import LinearRegression

    x_train, _, y_train, _ = diabetes()
    return (LinearRegression() if kind == "linear" else DummyRegressor()).fit(x_train, y_train)


def logged_run(client: TrackingClient, metrics: Mapping[str, float] | None = None, model: object | None = None) -> str:
    """A finished run with a model in ``model/`` and the given metrics; returns its run id."""
    model = model if model is not None else fitted("dummy")
    with client.start_run("registry") as run:
        run.log_model(model, input_example=diabetes()[1][:2])
        if metrics:
            run.log_metrics(metrics)
    return run.run_id


def version_with(client: TrackingClient, name: str, **metrics: float) -> ModelVersion:
    return client.registry.register_model(name, f"runs:/{logged_run(client, metrics)}/model")


# -- registered models and versions ------------------------------------------------------


def test_versions_count_per_name_and_point_back_to_their_run(client: TrackingClient) -> None:
    registry = client.registry
    run_id = logged_run(client)
    first = registry.register_model("a", f"runs:/{run_id}/model", description="first")
    assert (first.name, first.version, first.run_id, first.source) == ("a", 1, run_id, f"runs:/{run_id}/model")
    assert first.stage is Stage.NONE and first.description == "first" and first.uri == "models:/a/1"
    assert first.model_sha256 is not None
    assert [registry.register_model("a", run_id).version for _ in range(2)] == [2, 3]
    assert registry.register_model("b", run_id, "model").version == 1

    assert [v.version for v in registry.list_model_versions("a")] == [1, 2, 3]
    assert registry.get_latest_version("a").version == 3
    assert registry.get_model_version("a", 2).run_id == run_id
    assert [m.name for m in registry.list_registered_models()] == ["a", "b"]
    assert registry.get_registered_model("a").latest_version == 3


def test_create_registered_model(client: TrackingClient) -> None:
    registry = client.registry
    made = registry.create_registered_model("churn", description="churn classifier", tags={"team": "growth"})
    assert isinstance(made, RegisteredModel)
    assert (made.description, dict(made.tags), made.latest_version) == ("churn classifier", {"team": "growth"}, None)
    with pytest.raises(RegistryError, match="already exists"):
        registry.create_registered_model("churn")
    registry.set_registered_model_tag("churn", "owner", "ana")
    assert registry.get_registered_model("churn").tags == {"team": "growth", "owner": "ana"}
    # The model exists already, so the first registration is version 1 of it.
    assert version_with(client, "churn").version == 1


@pytest.mark.parametrize("name", ["a/b", "a@b", "", " x", "x y"])
def test_invalid_model_names(client: TrackingClient, name: str) -> None:
    with pytest.raises(RegistryError, match="invalid model name"):
        client.registry.create_registered_model(name)


def test_unknown_model_and_version(client: TrackingClient) -> None:
    registry = client.registry
    with pytest.raises(ModelNotFound, match="no registered model named 'ghost'"):
        registry.get_registered_model("ghost")
    with pytest.raises(ModelNotFound, match="no registered model named 'ghost'"):
        registry.get_model_version("ghost", 1)
    version_with(client, "real")
    with pytest.raises(ModelNotFound, match="has no version 7"):
        registry.get_model_version("real", 7)
    with pytest.raises(ModelNotFound, match="no version in stage Production"):
        registry.get_latest_version("real", "Production")


def test_registering_a_run_without_a_model_is_a_clear_error(client: TrackingClient) -> None:
    with client.start_run("registry") as run:
        run.log_metric("loss", 1.0)
    with pytest.raises(ModelError, match=r"no model at 'model'.*log_model"):
        client.registry.register_model("m", f"runs:/{run.run_id}/model")
    with pytest.raises(RegistryError, match="runs:/"):
        client.registry.register_model("m", "models:/other/1")
    assert client.registry.list_registered_models() == []


def test_version_tags(client: TrackingClient) -> None:
    registry = client.registry
    run_id = logged_run(client)
    version = registry.register_model("m", run_id, tags={"sweeps.sweep_id": "s-1"})
    assert version.tags["sweeps.sweep_id"] == "s-1"
    registry.set_model_version_tag("m", 1, "validated", True)
    assert registry.get_model_version("m", 1).tags["validated"] == "True"
    with pytest.raises(RegistryError, match="kept by the registry"):
        registry.set_model_version_tag("m", 1, "sweeps.model.sha256", "0" * 64)


# -- aliases -----------------------------------------------------------------------------


@pytest.mark.parametrize("alias", ["latest", "LATEST", "v1", "V12", "v007"])
def test_reserved_aliases_are_refused(client: TrackingClient, alias: str) -> None:
    version_with(client, "m")
    with pytest.raises(RegistryError, match="reserved"):
        client.registry.set_alias("m", alias, 1)


@pytest.mark.parametrize("alias", ["a b", "a/b", "", "a.b", "x@y", "é!"])
def test_aliases_with_invalid_characters_are_refused(client: TrackingClient, alias: str) -> None:
    version_with(client, "m")
    with pytest.raises(RegistryError, match="invalid alias"):
        client.registry.set_alias("m", alias, 1)


@pytest.mark.parametrize("alias", ["champion", "canary-2", "v1beta", "latest_good", "blue_green"])
def test_valid_aliases(alias: str) -> None:
    assert check_alias(alias) == alias


def test_alias_moves_when_reassigned(client: TrackingClient) -> None:
    registry = client.registry
    version_with(client, "m")
    version_with(client, "m")
    assert registry.set_alias("m", "champion", 1).aliases == ("champion",)
    moved = registry.set_alias("m", "champion", 2, reason="better recall")
    assert moved.aliases == ("champion",)
    assert registry.get_model_version("m", 1).aliases == ()
    assert registry.get_version_by_alias("m", "champion").version == 2
    assert registry.get_registered_model("m").aliases == {"champion": 2}
    registry.set_alias("m", "champion", 2)  # unchanged: no audit entry

    moves = [(e.from_value, e.to_value, e.reason) for e in registry.audit_log("m") if e.action == "alias"]
    assert moves == [(None, "1", None), ("1", "2", "better recall")]

    with pytest.raises(ModelNotFound, match="no version 9"):
        registry.set_alias("m", "champion", 9)
    registry.delete_alias("m", "champion", reason="rollback")
    with pytest.raises(ModelNotFound, match="no alias @champion"):
        registry.get_version_by_alias("m", "champion")
    with pytest.raises(ModelNotFound, match="no alias @champion"):
        registry.delete_alias("m", "champion")
    last = registry.audit_log("m")[-1]
    assert (last.action, last.subject, last.from_value, last.to_value, last.reason) == (
        "alias",
        "champion",
        "2",
        None,
        "rollback",
    )


def test_register_with_alias_is_one_step(client: TrackingClient) -> None:
    registry = client.registry
    run_id = logged_run(client)
    version = registry.register_model("m", f"runs:/{run_id}/model", alias="challenger", reason="best trial")
    assert version.aliases == ("challenger",)
    assert registry.get_version_by_alias("m", "challenger").version == 1
    actions = [(e.action, e.subject, e.reason) for e in registry.audit_log("m")]
    assert actions == [("register", None, "best trial"), ("alias", "challenger", "best trial")]
    # a refused alias registers nothing: the version never exists without its alias
    with pytest.raises(RegistryError, match="reserved"):
        registry.register_model("m", f"runs:/{run_id}/model", alias="latest")
    assert registry.get_latest_version("m").version == 1


_REFUSE_ALIASES = {
    "sqlite": [
        "CREATE TRIGGER refuse_alias BEFORE INSERT ON model_aliases BEGIN SELECT RAISE(ABORT, 'alias refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_alias() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'alias refused'; END $$ "
        "LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_alias BEFORE INSERT ON model_aliases FOR EACH ROW EXECUTE FUNCTION refuse_alias()",
    ],
}
_ALLOW_ALIASES = {
    "sqlite": ["DROP TRIGGER refuse_alias"],
    "postgresql": ["DROP TRIGGER refuse_alias ON model_aliases", "DROP FUNCTION refuse_alias()"],
}


def _run_sql(uri: str, statements: dict[str, list[str]]) -> None:
    engine = sa.create_engine(uri)
    try:
        with engine.begin() as conn:
            for statement in statements[conn.dialect.name]:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


# A trigger in the database: the fault is injected in SQL, so this runs on the SQL stores.
@pytest.mark.parametrize("store_uri", SQL_STORE_PARAMS, indirect=True)
def test_register_with_alias_leaves_nothing_when_the_alias_fails(client: TrackingClient, store_uri: str) -> None:
    # The database itself refuses the alias row (a trigger), after the version row was written
    # in the same transaction: the version, the model created for it and its audit must all go.
    source = f"runs:/{logged_run(client)}/model"
    _run_sql(store_uri, _REFUSE_ALIASES)
    try:
        with pytest.raises(StoreError, match="alias refused") as caught:
            client.registry.register_model("m", source, alias="challenger", reason="best trial")
        assert caught.value.__cause__ is not None  # the driver's error, chained, not raised
        with pytest.raises(ModelNotFound):
            client.registry.get_registered_model("m")
    finally:
        _run_sql(store_uri, _ALLOW_ALIASES)
    version = client.registry.register_model("m", source, alias="challenger", reason="best trial")
    assert (version.version, version.aliases) == (1, ("challenger",))  # the failed try took no number
    assert [(e.action, e.version) for e in client.registry.audit_log("m")] == [("register", 1), ("alias", 1)]


def test_the_sql_registry_store_keeps_the_protocol(client: TrackingClient, store_uri: str) -> None:
    from tracking.registry.store import RegistryStore
    from tracking.store import open_store

    store = open_store(store_uri)
    try:
        records = store.registry_store()
        assert isinstance(records, RegistryStore)
        version = client.registry.register_model("m", f"runs:/{logged_run(client)}/model", tags={"team": "a"})
        got = records.get_version("m", 1)
        assert got == version  # the same record, read through another store on the database
        with pytest.raises(dataclasses.FrozenInstanceError):
            got.stage = Stage.PRODUCTION  # type: ignore[misc]
        with pytest.raises(TypeError):
            got.tags["team"] = "b"  # type: ignore[index]
        with pytest.raises(ModelNotFound, match="no version 2"):
            records.get_version("m", 2)
    finally:
        store.close()


def test_deleting_a_version_removes_its_aliases(client: TrackingClient) -> None:
    registry = client.registry
    for _ in range(3):
        version_with(client, "m")
    registry.set_alias("m", "champion", 2)
    registry.set_alias("m", "canary", 2)
    registry.set_alias("m", "challenger", 3)
    registry.delete_model_version("m", 2, reason="leaked test data")

    assert [v.version for v in registry.list_model_versions("m")] == [1, 3]
    assert registry.get_registered_model("m").aliases == {"challenger": 3}
    with pytest.raises(ModelNotFound):
        registry.get_version_by_alias("m", "champion")
    with pytest.raises(ModelNotFound):
        tracking.load_model("models:/m@canary", client)
    # Numbers are never reused.
    assert version_with(client, "m").version == 4

    tail = [(e.action, e.subject, e.version, e.from_value, e.to_value) for e in registry.audit_log("m")[-4:-1]]
    assert tail == [
        ("alias", "canary", 2, "2", None),
        ("alias", "champion", 2, "2", None),
        ("delete", None, 2, "2", None),
    ]


# -- stages ------------------------------------------------------------------------------


def test_stage_transitions_and_archive_existing(client: TrackingClient) -> None:
    registry = client.registry
    for _ in range(4):
        version_with(client, "m")
    assert registry.transition_stage("m", 1, "Production").stage is Stage.PRODUCTION
    registry.transition_stage("m", 2, "production")  # stage names are case-insensitive
    assert [v.version for v in registry.list_model_versions("m", "Production")] == [1, 2]
    assert registry.get_latest_version("m", Stage.PRODUCTION).version == 2

    registry.transition_stage("m", 3, "Staging")
    registry.transition_stage("m", 4, "PRODUCTION", archive_existing=True, reason="weekly release")
    stages = {v.version: v.stage for v in registry.list_model_versions("m")}
    assert stages == {1: Stage.ARCHIVED, 2: Stage.ARCHIVED, 3: Stage.STAGING, 4: Stage.PRODUCTION}

    changes = [(e.version, e.from_value, e.to_value) for e in registry.audit_log("m") if e.action == "stage"]
    assert changes == [
        (1, "None", "Production"),
        (2, "None", "Production"),
        (3, "None", "Staging"),
        (4, "None", "Production"),
        (1, "Production", "Archived"),
        (2, "Production", "Archived"),
    ]
    archived = [e for e in registry.audit_log("m") if e.to_value == "Archived"]
    assert all(
        "version 4 moved to Production" in (e.reason or "") and "weekly release" in (e.reason or "") for e in archived
    )


def test_invalid_stages(client: TrackingClient) -> None:
    version_with(client, "m")
    with pytest.raises(RegistryError, match="unknown stage 'Live'"):
        client.registry.transition_stage("m", 1, "Live")
    with pytest.raises(RegistryError, match="archive_existing applies to Staging or Production"):
        client.registry.transition_stage("m", 1, "Archived", archive_existing=True)


# -- audit log ---------------------------------------------------------------------------


def test_audit_log_says_what_who_when_and_why(client: TrackingClient) -> None:
    registry = client.registry
    before = int(time.time() * 1000)
    version_with(client, "m")
    registry.set_alias("m", "challenger", 1, reason="sweep s-1 winner")
    registry.transition_stage("m", 1, "Staging", actor="release-bot", reason="canary")
    log = registry.audit_log("m")
    assert all(isinstance(e, AuditEntry) for e in log)
    assert [(e.action, e.subject, e.version) for e in log] == [
        ("register", None, 1),
        ("alias", "challenger", 1),
        ("stage", "stage", 1),
    ]
    register, alias, stage = log
    assert register.to_value == registry.get_model_version("m", 1).source
    assert (alias.from_value, alias.to_value, alias.actor, alias.reason) == (None, "1", client.user, "sweep s-1 winner")
    assert (stage.from_value, stage.to_value, stage.actor, stage.reason) == ("None", "Staging", "release-bot", "canary")
    assert all(before <= e.at <= int(time.time() * 1000) for e in log)
    assert stage.when.tzinfo is not None
    assert "release-bot" in stage.describe() and "canary" in stage.describe()
    with pytest.raises(ModelNotFound):
        registry.audit_log("ghost")


def test_actor_defaults_to_sweeps_user(store_uri: str, artifact_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEPS_USER", "ci-pipeline")
    with tracking.connect(store_uri, artifacts=str(artifact_root)) as client:
        version_with(client, "m")
        client.registry.set_alias("m", "challenger", 1)
        assert {e.actor for e in client.registry.audit_log("m")} == {"ci-pipeline"}


# -- promotion ---------------------------------------------------------------------------


def test_promote_without_challenger_is_refused(client: TrackingClient) -> None:
    version_with(client, "m", acc=0.9)
    with pytest.raises(RegistryError, match="no @challenger"):
        client.registry.promote("m", "acc", "maximize")
    with pytest.raises(ModelNotFound):
        client.registry.promote("ghost", "acc", "maximize")


def test_first_challenger_becomes_champion(client: TrackingClient) -> None:
    registry = client.registry
    version_with(client, "m", acc=0.8)
    registry.set_alias("m", "challenger", 1)
    decision = registry.promote("m", "acc", "maximize", reason="first release")
    assert isinstance(decision, PromotionDecision)
    assert (decision.promoted, decision.champion_before, decision.champion_after) == (True, None, 1)
    assert (decision.challenger_value, decision.champion_value) == (0.8, None)
    assert "no @champion yet" in decision.reason
    assert registry.get_version_by_alias("m", "champion").version == 1
    promote = registry.audit_log("m")[-1]
    assert (promote.action, promote.version, promote.from_value, promote.to_value) == ("promote", 1, None, "1")
    assert "first release" in (promote.reason or "")


def _contest(client: TrackingClient, champion: float, challenger: float, key: str = "acc") -> ModelRegistry:
    version_with(client, "m", **{key: champion})
    version_with(client, "m", **{key: challenger})
    client.registry.set_alias("m", "champion", 1)
    client.registry.set_alias("m", "challenger", 2)
    return client.registry


def test_challenger_that_wins_becomes_champion(client: TrackingClient) -> None:
    registry = _contest(client, champion=0.80, challenger=0.90)
    decision = registry.promote("m", "acc", "maximize", min_delta=0.05)
    assert decision.promoted and (decision.champion_before, decision.champion_after) == (1, 2)
    assert (decision.champion_value, decision.challenger_value) == (0.80, 0.90)
    assert "wins by 0.1" in decision.reason
    assert registry.get_version_by_alias("m", "champion").version == 2
    alias_move, promote = registry.audit_log("m")[-2:]
    assert (alias_move.action, alias_move.subject, alias_move.from_value, alias_move.to_value) == (
        "alias",
        "champion",
        "1",
        "2",
    )
    assert (promote.action, promote.from_value, promote.to_value) == ("promote", "1", "2")


def test_challenger_that_loses_leaves_champion(client: TrackingClient) -> None:
    registry = _contest(client, champion=0.90, challenger=0.85)
    decision = registry.promote("m", "acc", "maximize")
    assert not decision.promoted and decision.champion_after == 1
    assert "does not beat" in decision.reason
    assert registry.get_version_by_alias("m", "champion").version == 1
    last = registry.audit_log("m")[-1]
    assert (last.action, last.from_value, last.to_value) == ("promote", "1", "1")
    assert "champion stays" in (last.reason or "")


@pytest.mark.parametrize(
    ("champion", "challenger", "min_delta", "promoted"),
    [
        (0.50, 0.52, 0.05, False),  # better, but within min_delta
        (0.50, 0.75, 0.25, True),  # better by exactly min_delta
        (0.50, 0.50, 0.0, False),  # a tie is not a win
        (0.50, 0.50, 0.1, False),
    ],
)
def test_min_delta(
    client: TrackingClient, champion: float, challenger: float, min_delta: float, promoted: bool
) -> None:
    registry = _contest(client, champion, challenger)
    decision = registry.promote("m", "acc", "maximize", min_delta=min_delta)
    assert decision.promoted is promoted
    assert registry.get_version_by_alias("m", "champion").version == (2 if promoted else 1)
    if champion < challenger and not promoted:
        assert "less than min_delta" in decision.reason


def test_minimize_reads_objective_metric_as_stored_by_sweeps(client: TrackingClient) -> None:
    registry = _contest(client, champion=10.0, challenger=7.5, key="objective.rmse")
    decision = registry.promote("m", "rmse", "minimize", min_delta=1.0)
    assert decision.promoted and (decision.champion_value, decision.challenger_value) == (10.0, 7.5)


def test_metric_missing_from_a_run_is_a_clear_error(client: TrackingClient) -> None:
    registry = _contest(client, champion=0.9, challenger=0.95)
    with pytest.raises(RegistryError, match=r"has no metric 'f1' \(nor objective.f1\); it logged: acc"):
        registry.promote("m", "f1", "maximize")
    with pytest.raises(RegistryError, match="goal must be"):
        registry.promote("m", "acc", "up")
    with pytest.raises(RegistryError, match="min_delta"):
        registry.promote("m", "acc", "maximize", min_delta=-1)
    assert registry.get_version_by_alias("m", "champion").version == 1


def test_promote_when_challenger_is_already_champion(client: TrackingClient) -> None:
    registry = client.registry
    version_with(client, "m", acc=0.9)
    registry.set_alias("m", "challenger", 1)
    registry.set_alias("m", "champion", 1)
    decision = registry.promote("m", "acc", "maximize")
    assert not decision.promoted and "already @champion" in decision.reason


def test_promote_on_given_data(client: TrackingClient) -> None:
    registry = client.registry
    # The source runs claim the opposite of what the data shows; data wins when given.
    registry.register_model("m", logged_run(client, {"r2": 0.99}, fitted("dummy")))
    registry.register_model("m", logged_run(client, {"r2": 0.01}, fitted("linear")))
    registry.set_alias("m", "champion", 1)
    registry.set_alias("m", "challenger", 2)

    by_runs = registry.promote("m", "r2", "maximize")
    assert not by_runs.promoted and by_runs.evaluated_on == "runs"

    by_data = registry.promote("m", "r2", "maximize", data=(diabetes()[1], diabetes()[3]))
    assert by_data.promoted and by_data.evaluated_on == "data"
    assert by_data.challenger_value is not None and by_data.champion_value is not None
    assert by_data.challenger_value > 0.3 > by_data.champion_value


def test_promote_with_a_scorer(client: TrackingClient) -> None:
    registry = client.registry
    registry.register_model("m", logged_run(client, model=fitted("linear")))
    registry.register_model("m", logged_run(client, model=fitted("dummy")))
    registry.set_alias("m", "champion", 1)
    registry.set_alias("m", "challenger", 2)

    def mse(model: object, x: object, y: object) -> float:
        return float(np.mean((model.predict(x) - y) ** 2))  # type: ignore[attr-defined]

    decision = registry.promote("m", "mse", "minimize", data=(diabetes()[1], diabetes()[3]), scorer=mse)
    assert not decision.promoted
    assert decision.challenger_value is not None and decision.champion_value is not None
    assert decision.challenger_value > decision.champion_value


def test_retrain_pattern(client: TrackingClient) -> None:
    """Each round registers its winner as @challenger and promotes against the standing champion."""
    registry = client.registry

    def round_(score: float) -> PromotionDecision:
        version = version_with(client, "churn", **{"objective.val_accuracy": score})
        registry.set_alias("churn", "challenger", version.version, reason="sweep winner")
        return registry.promote("churn", "val_accuracy", "maximize", min_delta=0.01)

    first = round_(0.80)
    assert first.promoted and first.champion_after == 1
    second = round_(0.85)
    assert second.promoted and (second.champion_before, second.champion_after) == (1, 2)
    assert (second.champion_value, second.challenger_value) == (0.80, 0.85)
    third = round_(0.855)
    assert not third.promoted and third.champion_after == 2
    assert registry.get_version_by_alias("churn", "champion").version == 2
    assert registry.get_version_by_alias("churn", "challenger").version == 3
    promotions = [(e.from_value, e.to_value) for e in registry.audit_log("churn") if e.action == "promote"]
    assert promotions == [(None, "1"), ("1", "2"), ("2", "2")]


# -- concurrency -------------------------------------------------------------------------


def _register_many(uri: str, artifacts: str, source: str, count: int, barrier, results) -> None:  # type: ignore[no-untyped-def]
    with tracking.connect(uri, artifacts=artifacts) as client:
        registry = client.registry
        barrier.wait()
        results.put([registry.register_model("race", source).version for _ in range(count)])


def test_concurrent_registration_gets_distinct_numbers(
    client: TrackingClient, store_uri: str, artifact_root: Path
) -> None:
    source = f"runs:/{logged_run(client)}/model"
    workers, each = 4, 5
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=_register_many, args=(store_uri, str(artifact_root), source, each, barrier, results))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    numbers = sorted(n for batch in got for n in batch)
    assert numbers == list(range(1, workers * each + 1))
    assert [v.version for v in client.registry.list_model_versions("race")] == numbers
    assert sum(e.action == "register" for e in client.registry.audit_log("race")) == workers * each


def test_exported_names() -> None:
    import tracking.models
    import tracking.registry

    assert set(tracking.registry.__all__) == {
        "CHALLENGER",
        "CHAMPION",
        "GOALS",
        "SHA256_TAG",
        "AuditEntry",
        "ModelRegistry",
        "ModelVersion",
        "PromotionDecision",
        "RegisteredModel",
        "Scorer",
        "Stage",
        "check_alias",
        "check_model_name",
    }
    assert set(tracking.models.__all__) == {
        "FLAVORS",
        "METADATA_FILE",
        "PAYLOAD_FILE",
        "PAYLOAD_TAG_PREFIX",
        "ColumnSpec",
        "DataSpec",
        "LoadedModel",
        "ModelInfo",
        "ModelRef",
        "Signature",
        "infer_signature",
        "infer_spec",
        "load_model",
        "parse_model_uri",
        "payload_tag",
        "read_model_info",
        "save_model",
    }
    with tracking.connect("sqlite://") as client:
        assert isinstance(client.registry, ModelRegistry)


# -- layering ----------------------------------------------------------------------------

_TRACKING = Path(tracking.__file__).resolve().parent
# Layers, lowest first: models know no registry, the registry knows no client nor store
# module (it reaches the store through the RegistryStore protocol), only the client knows all.
_LAYERS = ("tracking.models", "tracking.registry", "tracking.store", "tracking.client")


def _module_imports() -> dict[str, set[str]]:
    """Every tracking module and the tracking modules it imports, anywhere in its body.

    Function-level and ``TYPE_CHECKING`` imports count too: a deferred import is still a
    dependency, and the point is that none goes up the layers.
    """
    names = {
        ".".join(("tracking", *p.relative_to(_TRACKING).with_suffix("").parts)).removesuffix(".__init__")
        for p in _TRACKING.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for path in _TRACKING.rglob("*.py"):
        module = ".".join(("tracking", *path.relative_to(_TRACKING).with_suffix("").parts)).removesuffix(".__init__")
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        # Importing a.b.c runs a/__init__ and a/b/__init__ first (the root's lazy facade aside).
        parents = {".".join(m.split(".")[:i]) for m in found for i in range(2, m.count(".") + 1)}
        graph[module] = {m for m in found | parents if m in names and m != module}
    return graph


def _layer(module: str) -> str | None:
    return next((layer for layer in _LAYERS if module == layer or module.startswith(layer + ".")), None)


def test_models_registry_store_and_client_import_one_way() -> None:
    graph = _module_imports()
    upward: list[str] = []
    for module, imported in graph.items():
        seen, todo = set(imported), list(imported)
        while todo:  # everything the module reaches, through modules of any layer
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        here = _layer(module)
        if here is None:
            continue
        upward += [
            f"{module} reaches {m}"
            for m in sorted(seen)
            if (there := _layer(m)) is not None and _LAYERS.index(there) > _LAYERS.index(here)
        ]
    assert upward == []


@pytest.mark.parametrize(
    "module",
    [
        "tracking.models",
        "tracking.registry",
        "tracking.registry.store",
        "tracking.store.registry_sql",
        "tracking.client",
    ],
)
def test_each_layer_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    # Alone, first: a cycle shows up as a partially initialised module in one import order.
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
