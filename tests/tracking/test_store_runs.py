"""Contract: experiments, run lifecycle, nesting, params and tags — the same on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest

import tracking
from tests.conftest import SQL_STORE_PARAMS
from tests.support.state import run_state
from tracking import ParamConflict, RunFinished, RunNotFound, RunStatus, TrackingClient
from tracking.store import Store
from tracking.store.sql_store import SqlStore


def now_ms() -> int:
    return int(time.time() * 1000)


# -- experiments ---------------------------------------------------------------------------


def test_experiment_is_created_on_first_use_and_reused(client: TrackingClient) -> None:
    assert client.list_experiments() == []
    first = client.start_run("digits")
    second = client.start_run("digits")
    experiments = client.list_experiments()
    assert [e.name for e in experiments] == ["digits"]
    assert first.experiment_id == second.experiment_id == experiments[0].experiment_id
    assert client.get_experiment_by_name("digits") == experiments[0]
    with pytest.raises(tracking.ExperimentNotFound):
        client.get_experiment_by_name("nope")


def test_default_experiment_and_distinct_experiments(client: TrackingClient) -> None:
    a = client.start_run()
    b = client.start_run("other")
    assert a.experiment_id != b.experiment_id
    assert {e.name for e in client.list_experiments()} == {"Default", "other"}


def test_run_artifact_location_is_under_its_experiment(client: TrackingClient, artifact_root) -> None:  # type: ignore[no-untyped-def]
    run = client.start_run("e")
    exp = client.get_experiment_by_name("e")
    assert exp.artifact_location == f"{artifact_root}/{exp.experiment_id}"
    assert run.info.artifact_uri == f"{exp.artifact_location}/{run.run_id}/artifacts"


# -- lifecycle -----------------------------------------------------------------------------


def test_new_run_is_running_with_start_time_and_no_end(client: TrackingClient) -> None:
    before = now_ms()
    run = client.start_run("e", "baseline", tags={"team": "vision"})
    info = client.get_run(run.run_id)
    assert info.status is RunStatus.RUNNING
    assert info.name == "baseline"
    assert before <= info.start_time <= now_ms()
    assert info.end_time is None and info.error is None and info.parent_run_id is None
    assert dict(info.tags) == {"team": "vision"}


@pytest.mark.parametrize("status", [RunStatus.FINISHED, RunStatus.FAILED, RunStatus.PRUNED, RunStatus.KILLED])
def test_run_ends_in_each_terminal_status(client: TrackingClient, status: RunStatus) -> None:
    run = client.start_run("e")
    run.end(status, error="why" if status is RunStatus.FAILED else None)
    info = client.get_run(run.run_id)
    assert info.status is status
    assert info.end_time is not None and info.start_time <= info.end_time <= now_ms()
    assert info.duration_s is not None and info.duration_s >= 0
    assert info.error == ("why" if status is RunStatus.FAILED else None)


@pytest.mark.parametrize("store_uri", SQL_STORE_PARAMS, indirect=True)
def test_a_run_never_ends_before_it_started_when_starts_ran_ahead_of_the_clock(
    store: Store, client: TrackingClient
) -> None:
    # Runs created faster than one a millisecond get start times ahead of the clock (each one
    # after the last, to keep their order): as after a burst of 2,000 runs.
    assert isinstance(store, SqlStore)
    store._start_clock._last = now_ms() + 2_000
    ended = [client.start_run("e") for _ in range(3)]
    ended[0].end()  # through the sink's end_runs
    store.end_run(ended[1].run_id, RunStatus.FAILED)
    store.set_run_status(ended[2].run_id, RunStatus.KILLED)
    for run in ended:
        info = client.get_run(run.run_id)
        assert info.end_time is not None and info.end_time >= info.start_time > now_ms()
        assert info.duration_s == 0


def test_context_manager_finishes_the_run(client: TrackingClient) -> None:
    with client.start_run("e") as run:
        assert client.get_run(run.run_id).status is RunStatus.RUNNING
    info = client.get_run(run.run_id)
    assert info.status is RunStatus.FINISHED and info.end_time is not None and info.error is None


def test_context_manager_fails_the_run_with_the_traceback_and_reraises(client: TrackingClient) -> None:
    def explode() -> None:
        raise ValueError("diverged at epoch 3")

    with pytest.raises(ValueError, match="diverged"), client.start_run("e") as run:
        run.log_metric("loss", 1.0)
        explode()
    info = client.get_run(run.run_id)
    assert info.status is RunStatus.FAILED
    assert info.end_time is not None
    assert info.error is not None
    assert "Traceback" in info.error and "ValueError: diverged at epoch 3" in info.error and "explode" in info.error
    assert info.metrics["loss"].last == 1.0  # points logged before the error are kept


def test_keyboard_interrupt_kills_the_run(client: TrackingClient) -> None:
    with pytest.raises(KeyboardInterrupt), client.start_run("e") as run:
        raise KeyboardInterrupt
    assert client.get_run(run.run_id).status is RunStatus.KILLED


def test_unknown_run_is_not_found(client: TrackingClient) -> None:
    with pytest.raises(RunNotFound):
        client.get_run("0" * 32)
    with pytest.raises(RunNotFound):
        client.end_run("0" * 32)
    with pytest.raises(RunNotFound):
        client.attach("0" * 32)


def test_run_records_survive_a_new_client(client: TrackingClient, store_uri: str, artifact_root) -> None:  # type: ignore[no-untyped-def]
    with client.start_run("e", "n", params={"a": 1}, tags={"t": "x"}) as run:
        run.log_metric("m", 2.5, step=7)
    with tracking.connect(store_uri, artifacts=str(artifact_root)) as other:
        info = other.get_run(run.run_id)
    assert (info.name, info.status, dict(info.params), dict(info.tags)) == (
        "n",
        RunStatus.FINISHED,
        {"a": "1"},
        {"t": "x"},
    )
    assert (info.metrics["m"].last, info.metrics["m"].last_step) == (2.5, 7)


def test_run_record_pickles(client: TrackingClient) -> None:
    import pickle

    run = client.start_run("e", params={"p": 1})
    run.log_metric("m", 1.0)
    info = run.info
    assert pickle.loads(pickle.dumps(info)) == info


# -- nesting -------------------------------------------------------------------------------


def test_nested_runs_record_their_parent(client: TrackingClient) -> None:
    with client.start_run("e", "parent") as parent:
        with client.start_run("e", "a", parent=parent) as a:
            pass
        b = client.start_run("e", "b", parent=parent.run_id)
        c = client.start_run("e", "c", parent=a.info)
        b.end()
        c.end()
    children = client.child_runs(parent.run_id)
    assert [r.name for r in children] == ["a", "b"]
    assert all(r.parent_run_id == parent.run_id for r in children)
    assert [r.run_id for r in client.child_runs(a)] == [c.run_id]
    assert client.child_runs(c.run_id) == []
    assert client.get_run(parent.run_id).parent_run_id is None


def test_unknown_parent_is_refused_and_nothing_is_created(client: TrackingClient, store: Store) -> None:
    with pytest.raises(RunNotFound):
        client.start_run("e", parent="f" * 32)
    exp = client.get_experiment_by_name("e")
    assert store.count_runs(exp.experiment_id) == 0


# -- params --------------------------------------------------------------------------------


def test_params_are_stored_as_text(client: TrackingClient) -> None:
    run = client.start_run("e", params={"alpha": 1e-4})
    run.log_params({"penalty": "l2", "layers": [64, 32], "n": 3})
    run.log_param("flag", True)
    assert dict(run.info.params) == {
        "alpha": "0.0001",
        "penalty": "l2",
        "layers": "[64, 32]",
        "n": "3",
        "flag": "True",
    }


def test_same_param_value_again_is_a_no_op(client: TrackingClient) -> None:
    run = client.start_run("e")
    run.log_params({"alpha": 0.1, "penalty": "l2"})
    run.log_params({"alpha": 0.1})
    run.log_param("penalty", "l2")
    assert dict(run.info.params) == {"alpha": "0.1", "penalty": "l2"}


def test_different_param_value_is_a_conflict_and_nothing_changes(client: TrackingClient) -> None:
    run = client.start_run("e")
    run.log_params({"alpha": 0.1, "penalty": "l2"})
    before = run_state(client, run.run_id)
    with pytest.raises(ParamConflict, match="alpha"):
        run.log_param("alpha", 0.2)
    # A batch mixing a new key with a conflicting one is refused as a whole.
    with pytest.raises(ParamConflict, match="penalty"):
        run.log_params({"new": 1, "penalty": "l1"})
    assert run_state(client, run.run_id) == before
    assert "new" not in run.info.params


def test_param_conflict_is_seen_across_clients(client: TrackingClient, store_uri: str, artifact_root) -> None:  # type: ignore[no-untyped-def]
    run = client.start_run("e", params={"alpha": 1})
    with tracking.connect(store_uri, artifacts=str(artifact_root)) as other:
        with pytest.raises(ParamConflict):
            other.log_param(run.run_id, "alpha", 2)
        other.log_param(run.run_id, "alpha", 1)
    assert dict(run.info.params) == {"alpha": "1"}


def test_params_cannot_be_logged_to_a_finished_run(client: TrackingClient) -> None:
    with client.start_run("e") as run:
        run.log_param("a", 1)
    before = run_state(client, run.run_id)
    with pytest.raises(RunFinished):
        run.log_param("b", 2)
    assert run_state(client, run.run_id) == before


# -- tags ----------------------------------------------------------------------------------


def test_tags_are_set_and_overwritten(client: TrackingClient) -> None:
    run = client.start_run("e", tags={"team": "vision", "stage": "dev"})
    run.set_tag("stage", "prod")
    run.set_tags({"owner": "ana", "n": 3})
    assert dict(run.info.tags) == {"team": "vision", "stage": "prod", "owner": "ana", "n": "3"}
    client.delete_tag(run.run_id, "owner")
    client.delete_tag(run.run_id, "never-set")  # no error
    assert dict(run.info.tags) == {"team": "vision", "stage": "prod", "n": "3"}


def test_tags_on_unknown_run_are_refused(client: TrackingClient) -> None:
    with pytest.raises(RunNotFound):
        client.set_tag("0" * 32, "k", "v")
