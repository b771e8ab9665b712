"""Contract: soft deletion and restore of runs and experiments, renaming, tag removal, history
frames — on SQLite, PostgreSQL and over HTTP; the purge behind `sweeps gc` on both SQL stores;
the server's role checks on the lifecycle routes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

import tracking
from tests.conftest import SQL_STORE_PARAMS
from tests.support.server import serving
from tests.tracking.server.test_roles import TinyAuthorizer
from tracking import (
    ExperimentNotFound,
    InvalidParameter,
    LifecycleError,
    PermissionDenied,
    RunInUse,
    RunNotFound,
    TrackingClient,
)
from tracking.auth.base import Role
from tracking.errors import RunDeleted
from tracking.server import build_app
from tracking.store import Store, lifecycle_sql
from tracking.store import schema as t
from tracking.store.http_store import HttpStore
from tracking.store.sql_store import SqlStore

SWEEP_TAG = "sweeps.kind"


def family(client: TrackingClient, experiment: str = "e", children: int = 3, losses: int = 0) -> tuple[str, list[str]]:
    """A finished parent run with finished children, each with a tag, a param, two ``acc`` points
    and ``losses`` ``loss`` points (and then one ``auto`` point with step=None)."""
    with client.start_run(experiment, "parent", tags={SWEEP_TAG: "sweep"}) as parent:
        ids = []
        for i in range(children):
            with client.start_run(experiment, f"child-{i}", parent=parent, tags={"k": "v"}) as child:
                child.log_params({"i": i})
                child.log_metrics({"acc": i / 10}, step=0)
                child.log_metrics({"acc": i / 5}, step=1)
                if losses:
                    client.log_batch(child.run_id, [tracking.Metric("loss", 1 / (s + 1), s, 0) for s in range(losses)])
                    child.log_metric("auto", 1.0)  # step=None: reserves a block of steps in the store
                ids.append(child.run_id)
    return parent.run_id, ids


def state(client: TrackingClient) -> dict[str, tuple[str, bool]]:
    """Every run of the store (deleted ones too): name and whether it is deleted."""
    frame = client.search_runs(lifecycle="all")
    runs = client.get_runs(list(frame["run_id"]))
    return {r.run_id: (r.name, r.deleted) for r in runs}


def visible(client: TrackingClient) -> set[str]:
    return set(client.search_runs()["run_id"])


def register(store: Store, name: str, run_id: str) -> int:
    """A registered model version backed by ``run_id`` (through the store's registry seam)."""
    version = store.registry_store().register_version(
        name, run_id=run_id, source=f"runs:/{run_id}/model", description=None, tags={}, actor="t", reason=None
    )
    return version.version


# -- runs ---------------------------------------------------------------------------------------


def test_a_deleted_run_is_hidden_everywhere_but_get_run_marks_it(client: TrackingClient) -> None:
    parent, children = family(client)
    gone = children[0]
    assert client.delete_run(gone) == [gone]
    assert visible(client) == {parent, *children[1:]}
    assert [r.run_id for r in client.child_runs(parent)] == children[1:]
    assert {r.run_id for r in client.runs_with_tag("k", "v")} == set(children[1:])
    assert gone not in set(client.search_runs(filter="params.i = '0'")["run_id"])
    # Like MLflow: asked for by id, a deleted run is still there, marked.
    run = client.get_run(gone)
    assert run.deleted and run.deleted_at is not None and run.name == "child-0"
    assert [r.deleted for r in client.get_runs([gone, parent])] == [True, False]
    assert set(client.search_runs(lifecycle="deleted")["run_id"]) == {gone}
    assert client.get_metric_history(gone, "acc")[-1].value == 0.0  # its data is kept until gc
    assert client.restore_run(gone) == [gone]
    assert not client.get_run(gone).deleted
    assert visible(client) == {parent, *children}


def test_deleting_a_parent_deletes_its_children_and_restore_brings_back_only_those(client: TrackingClient) -> None:
    parent, children = family(client)
    with client.start_run("e", "grandchild", parent=children[1]) as grandchild:
        pass
    client.delete_run(children[0])  # on its own, before its parent
    hidden = client.delete_run(parent)
    assert hidden[0] == parent and set(hidden) == {parent, children[1], children[2], grandchild.run_id}
    assert visible(client) == set()
    assert client.child_runs(parent) == []
    restored = client.restore_run(parent)
    assert set(restored) == set(hidden)
    assert visible(client) == {parent, children[1], children[2], grandchild.run_id}
    assert client.get_run(children[0]).deleted  # it was deleted by its own call, and stays so


def test_bad_lifecycle_calls_name_the_problem_and_change_nothing(client: TrackingClient) -> None:
    parent, children = family(client, children=1)
    client.delete_run(children[0])
    before = state(client)
    with pytest.raises(RunNotFound, match="no run with id 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0'"):
        client.delete_run("f0" * 16)
    with pytest.raises(InvalidParameter, match="run id"):
        client.delete_run("not a run id!")
    with pytest.raises(LifecycleError, match=f"run {children[0]} is already deleted"):
        client.delete_run(children[0])
    with pytest.raises(LifecycleError, match=f"run {parent} is not deleted; there is nothing to restore"):
        client.restore_run(parent)
    with pytest.raises(RunNotFound):
        client.restore_run("f0" * 16)
    with pytest.raises(RunNotFound):
        client.set_run_name("f0" * 16, "x")
    with pytest.raises(InvalidParameter, match="must not be empty"):
        client.set_run_name(parent, "")
    with pytest.raises(InvalidParameter, match="250"):
        client.set_run_name(parent, "x" * 300)
    with pytest.raises(RunNotFound):
        client.delete_tag("f0" * 16, "k")
    with pytest.raises(InvalidParameter, match="lifecycle"):
        client.search_runs(lifecycle="gone")
    assert state(client) == before


def test_a_run_backing_a_model_version_is_not_deleted(client: TrackingClient, store: Store) -> None:
    parent, children = family(client)
    version = register(store, "digits", children[2])
    before = state(client)
    with pytest.raises(RunInUse, match=rf"model 'digits' version {version} \(run {children[2]}\)"):
        client.delete_run(parent)  # its child backs the version: the whole deletion is refused
    with pytest.raises(RunInUse, match="'digits' version"):
        client.delete_run(children[2])
    with pytest.raises(RunInUse, match="experiment 'e'"):
        client.delete_experiment("e")
    assert isinstance(RunInUse("x"), LifecycleError)
    assert state(client) == before
    client.delete_run(children[0])  # a run no version needs goes
    assert client.get_run(children[0]).deleted


def test_set_run_name_and_delete_tag(client: TrackingClient) -> None:
    parent, children = family(client, children=1)
    client.set_run_name(children[0], "renamed")
    assert client.get_run(children[0]).name == "renamed"
    assert list(client.search_runs(filter="attributes.name = 'renamed'")["run_id"]) == children
    client.delete_tag(children[0], "k")
    client.delete_tag(children[0], "k")  # a tag it no longer has is no error
    assert "k" not in client.get_run(children[0]).tags
    assert client.get_run(parent).tags[SWEEP_TAG] == "sweep"


def test_short_ids_find_deleted_runs_too(client: TrackingClient) -> None:
    _, children = family(client, children=1)
    client.delete_run(children[0])
    assert client.resolve_run_id(children[0][:8]) == children[0]


def test_metric_history_as_a_frame(client: TrackingClient) -> None:
    _, children = family(client, children=2)
    history = client.get_metric_history(children[1], "acc")
    assert [m.step for m in history] == [0, 1]  # the default stays a list of records
    frame = client.get_metric_history(children[1], "acc", as_frame=True)
    assert isinstance(frame, pl.DataFrame)
    assert frame.columns == ["key", "step", "value", "timestamp"]
    assert frame["value"].to_list() == [0.1, 0.2] and frame["step"].to_list() == [0, 1]
    assert frame.to_pandas()["value"].tolist() == [0.1, 0.2]
    empty = client.get_metric_history(children[1], "nothing", as_frame=True)
    assert empty.height == 0 and empty.schema["step"] == pl.Int64


# -- experiments --------------------------------------------------------------------------------


def test_a_deleted_experiment_hides_its_runs_and_takes_no_new_ones(client: TrackingClient) -> None:
    parent, children = family(client)
    other, _ = family(client, "other", children=0)
    client.delete_run(children[0])
    assert client.delete_experiment("e") == 3  # the parent and the two children still shown
    assert visible(client) == {other}
    assert [e.name for e in client.list_experiments()] == ["other"]
    assert {e.name: e.deleted for e in client.list_experiments(include_deleted=True)} == {"e": True, "other": False}
    assert client.get_experiment_by_name("e").deleted
    with pytest.raises(LifecycleError, match="experiment 'e' is deleted; restore it first"):
        client.start_run("e")
    with pytest.raises(LifecycleError, match=r"run .* is in the deleted experiment 'e'"):
        client.restore_run(parent)
    with pytest.raises(LifecycleError, match="experiment 'e' is already deleted"):
        client.delete_experiment("e")
    with pytest.raises(LifecycleError, match="experiment 'other' is not deleted"):
        client.restore_experiment("other")
    with pytest.raises(ExperimentNotFound):
        client.delete_experiment("nope")
    assert client.restore_experiment("e") == 3
    assert visible(client) == {other, parent, *children[1:]}  # the child deleted on its own stays deleted
    client.start_run("e").end()


# -- writes to a deleted run ---------------------------------------------------------------------


def _writes(client: TrackingClient, run_id: str, tmp_path: Path) -> dict[str, Callable[[], object]]:
    """Every kind of write into ``run_id``, through the client, as a name per call."""
    source = tmp_path / "notes.txt"
    source.write_text("hello")
    return {
        "log_metric": lambda: client.log_metric(run_id, "acc", 0.9, step=5),
        "log_batch": lambda: client.log_batch(run_id, [tracking.Metric("acc", 0.9, 6, 0)]),
        "log_params": lambda: client.log_params(run_id, {"lr": 0.1}),
        "set_tags": lambda: client.set_tags(run_id, {"k": "changed"}),
        "delete_tag": lambda: client.delete_tag(run_id, "k"),
        "log_artifact": lambda: client.log_artifact(run_id, source),
        "log_dict": lambda: client.log_dict(run_id, {"a": 1}, "d.json"),
        "log_text": lambda: client.log_text(run_id, "x", "t.txt"),
        "log_model": lambda: client.log_model(run_id, _Model(), "model"),
    }


class _Model:
    def predict(self, data: object) -> object:
        return data


def _held(client: TrackingClient, run_id: str) -> tuple[object, ...]:
    run = client.get_run(run_id)
    history = [(m.step, m.value) for m in client.get_metric_history(run_id, "acc")]
    return run.params, run.tags, history, sorted(a.path for a in client.list_artifacts(run_id))


def test_a_deleted_run_takes_no_writes_until_restored(client: TrackingClient, tmp_path: Path) -> None:
    run = client.start_run("e", "live", tags={"k": "v"})
    run.log_metric("acc", 0.5, step=0)  # the client now knows the run as writable
    client.delete_run(run.run_id)
    before = _held(client, run.run_id)
    for call, write in _writes(client, run.run_id, tmp_path).items():
        with pytest.raises(RunDeleted, match=rf"run {run.run_id} is deleted.*[Rr]estore it first") as caught:
            write()
        assert isinstance(caught.value, LifecycleError), call
    with pytest.raises(RunDeleted):
        run.log_table(pl.DataFrame({"a": [1]}), "t.csv")
    client.flush()
    assert _held(client, run.run_id) == before  # nothing was stored
    client.restore_run(run.run_id)
    for write in _writes(client, run.run_id, tmp_path).values():
        write()
    run.end()
    got = client.get_run(run.run_id)
    assert got.params == {"lr": "0.1"} and "k" not in got.tags
    assert [m.step for m in client.get_metric_history(run.run_id, "acc")] == [0, 5, 6]
    assert {"notes.txt", "d.json", "t.txt", "model"} <= {a.path for a in client.list_artifacts(run.run_id)}


def test_the_store_refuses_writes_to_a_deleted_run_from_any_client(client: TrackingClient, store: Store) -> None:
    """Another process's client (here: the store itself, as a server or a second client sees it) is refused too."""
    run = client.start_run("e", "live")
    client.delete_run(run.run_id)
    for write in (
        lambda: store.log_params(run.run_id, {"lr": "0.1"}),
        lambda: store.set_tags(run.run_id, {"k": "v"}),
        lambda: store.delete_tag(run.run_id, "k"),
        lambda: store.run_status(run.run_id),  # what a client asks before it logs metric points
    ):
        with pytest.raises(RunDeleted, match=f"run {run.run_id} is deleted"):
            write()
    if isinstance(store, HttpStore):  # the server refuses an upload itself, whatever the client checked
        with pytest.raises(RunDeleted, match=f"run {run.run_id} is deleted"):
            store.artifacts(store.get_run(run.run_id)).put_bytes(b"x", "x.txt")
        assert store.artifacts(store.get_run(run.run_id)).list() == []
    client.restore_run(run.run_id)
    assert store.run_status(run.run_id) is tracking.RunStatus.RUNNING
    store.log_params(run.run_id, {"lr": "0.1"})
    assert client.get_run(run.run_id).params == {"lr": "0.1"}


def test_a_deleted_experiment_takes_no_writes_to_its_runs(client: TrackingClient) -> None:
    run = client.start_run("e", "live")
    run.log_metric("acc", 0.5, step=0)
    client.delete_experiment("e")
    with pytest.raises(RunDeleted, match=f"run {run.run_id} is deleted"):
        run.log_metric("acc", 0.6, step=1)
    with pytest.raises(RunDeleted):
        run.log_params({"lr": 0.1})
    client.restore_experiment("e")
    run.log_metric("acc", 0.6, step=1)
    run.end()
    assert [m.value for m in client.get_metric_history(run.run_id, "acc")] == [0.5, 0.6]


def test_the_fluent_calls_into_a_deleted_run_name_it(
    store_uri: str, artifact_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWEEPS_STORE", store_uri)  # set_store writes both: restored after the test
    monkeypatch.setenv("SWEEPS_ARTIFACTS", str(artifact_root))
    tracking.set_store(store_uri, str(artifact_root))
    try:
        with pytest.raises(RunDeleted, match="is deleted") as caught, tracking.start_run(run_name="live") as run:
            tracking.log_metric("acc", 0.5)
            tracking.fluent.default_client().delete_run(run.run_id)
            for log in (
                lambda: tracking.log_metric("acc", 0.6),
                lambda: tracking.log_param("lr", 0.1),
                lambda: tracking.set_tag("k", "v"),
                lambda: tracking.log_dict({"a": 1}, "d.json"),
            ):
                with pytest.raises(RunDeleted, match=f"run {run.run_id} is deleted"):
                    log()
            tracking.log_text("x", "t.txt")  # the block's own error: it ends the run FAILED
        assert str(run.run_id) in str(caught.value)
        got = tracking.fluent.default_client().get_run(run.run_id)
        assert got.deleted and got.params == {} and "k" not in got.tags
        assert [m.value for m in tracking.fluent.default_client().get_metric_history(run.run_id, "acc")] == [0.5]
        assert tracking.fluent.default_client().list_artifacts(run.run_id) == []
    finally:
        tracking.fluent.close()


# -- gc (SQL stores) ----------------------------------------------------------------------------


def _count(store: SqlStore, table) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _rows(store: SqlStore, table) -> list:  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return list(conn.execute(select(table)))


@pytest.mark.parametrize("store_uri", SQL_STORE_PARAMS, indirect=True)
def test_purge_removes_deleted_runs_with_all_they_hold_in_bounded_transactions(
    client: TrackingClient, store: SqlStore, artifact_root: Path
) -> None:
    keep, kept_children = family(client, children=1)
    parent, children = family(client, children=2, losses=258)
    for run_id in children:
        client.log_text(run_id, "hello", "notes/a.txt")
    client.flush()
    assert _count(store, t.step_blocks) >= 2
    folders = [artifact_root / "1" / run_id for run_id in children]
    assert all(f.is_dir() for f in folders)
    points_before = _count(store, t.metrics)
    client.delete_run(parent)
    writes: list[int] = []

    def counted(work):  # type: ignore[no-untyped-def]
        writes.append(1)
        return store._write(work)

    report = lifecycle_sql.purge(
        counted, 2**62, lifecycle_sql.remove_run_artifacts, runs_per_batch=2, points_per_transaction=100
    )
    assert {r.run_id for r in report.runs} == {parent, *children}
    assert report.points == 2 * 261 and report.series == 6 and report.params == 2 and report.tags == 3
    assert report.artifact_folders == 2 and not any(f.exists() for f in folders)
    assert len(writes) >= 2 * 261 // 100  # points went in transactions of at most 100
    assert _count(store, t.metrics) == points_before - 2 * 261
    keep_ids = {keep, *kept_children}
    assert {r.run_id for r in _rows(store, t.step_blocks)} <= keep_ids  # the purged runs' steps went too
    for run_id in (parent, *children):
        with pytest.raises(RunNotFound):
            client.get_run(run_id)
    assert client.get_metric_history(kept_children[0], "acc")[-1].value == 0.0  # the others are untouched
    assert visible(client) == {keep, *kept_children}


@pytest.mark.parametrize("store_uri", SQL_STORE_PARAMS, indirect=True)
def test_purge_keeps_recent_deletions_and_runs_backing_a_version(client: TrackingClient, store: SqlStore) -> None:
    _, old = family(client, children=2)
    version = register(store, "m", old[1])
    client.delete_run(old[0])
    deleted_at = client.get_run(old[0]).deleted_at
    assert deleted_at is not None
    assert store.purge_deleted(deleted_at - 1).runs == []  # deleted after the cutoff: kept
    assert client.get_run(old[0]).deleted
    # A version registered after its run was deleted keeps the run through gc.
    with store.engine.begin() as conn:
        conn.execute(t.runs.update().where(t.runs.c.run_id == old[1]).values(deleted_at=deleted_at))
    report = store.purge_deleted(deleted_at)
    assert [r.run_id for r in report.runs] == [old[0]]
    assert report.kept == [f"run {old[1]}: backs model 'm' version {version}"]
    assert client.get_run(old[1]).deleted


@pytest.mark.parametrize("store_uri", SQL_STORE_PARAMS, indirect=True)
def test_purge_removes_an_emptied_deleted_experiment_and_its_name_is_free_again(
    client: TrackingClient, store: SqlStore
) -> None:
    family(client, "gone", children=1)
    client.delete_experiment("gone")
    report = store.purge_deleted(2**62)
    assert report.experiments == ["gone"] and len(report.runs) == 2
    assert all(e.name != "gone" for e in client.list_experiments(include_deleted=True))
    assert _count(store, t.runs) == 0
    client.start_run("gone").end()  # a new experiment of that name


# -- the server's role checks ----------------------------------------------------------------------


@pytest.fixture
def team(tmp_path: Path) -> Iterator[tuple[str, TinyAuthorizer, SqlStore]]:
    auth = TinyAuthorizer()
    store = SqlStore(f"sqlite:///{tmp_path / 'server.db'}")
    try:
        with serving(build_app(store, auth, artifact_root=str(tmp_path / "artifacts"))) as url:
            yield url, auth, store
    finally:
        store.close()


def test_lifecycle_routes_need_edit_and_experiments_need_manage(
    team: tuple[str, TinyAuthorizer, SqlStore],
) -> None:
    url, auth, _ = team
    with tracking.connect(url, token="t-admin") as admin:
        parent, children = family(admin)
        experiment_id = admin.get_experiment_by_name("e").experiment_id
        auth.grant("alice", Role.READ, experiment_id=experiment_id)
        auth.grant("bob", Role.EDIT, experiment_id=experiment_id)
        with tracking.connect(url, token="t-alice") as alice:
            with pytest.raises(PermissionDenied):
                alice.delete_run(children[0])
            with pytest.raises(PermissionDenied):
                alice.set_run_name(children[0], "mine")
        with tracking.connect(url, token="t-carol") as carol, pytest.raises(RunNotFound):
            carol.delete_run(children[0])  # no grant: the run does not exist for carol
        with tracking.connect(url, token="t-bob") as bob:
            assert bob.delete_run(children[0]) == [children[0]]
            assert bob.restore_run(children[0]) == [children[0]]
            with pytest.raises(PermissionDenied, match="needs manage"):
                bob.delete_experiment("e")
        assert not admin.get_run(children[0]).deleted
        assert admin.delete_experiment("e") == 1 + len(children)
        assert admin.restore_experiment("e") == 1 + len(children)
        assert {r.run_id for r in admin.child_runs(parent)} == set(children)
