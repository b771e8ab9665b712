"""Sweeps on a real multi-node Ray cluster (two nodes on this machine, token auth on).

The cluster and the sweep drivers run in child processes (see `cluster_support`): a test
process holds at most one Ray, and the session's local Ray may already be it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import tracking
from sweeps.engine import find_sweep
from sweeps.engine.result import SweepResult
from tests.sweeps.cluster_support import ClusterProcess, Driver, ref
from tests.sweeps.engine_checks import check_store
from tracking import Run, RunStatus

DEADLINE_S = 240
SUMMARY = re.compile(
    r"^sweep (?P<id>\S+) (?P<status>[A-Z]+): (?P<n>\d+) trials \((?P<finished>\d+) finished, "
    r"(?P<pruned>\d+) pruned, (?P<failed>\d+) failed(?:, (?P<killed>\d+) killed)?\)$",
    re.MULTILINE,
)
NOBODY_LISTENS = "127.0.0.1:9"  # the discard port: a config address that must be overridden


@dataclass(frozen=True)
class Ended:
    """A `sweeps run` process that exited: its code, output, and the result its summary line claims."""

    code: int
    output: str
    result: SweepResult

    def client(self) -> tracking.TrackingClient:
        return self.result.client()


def spread_config(folder: Path, name: str, trials: int, **fixed: object) -> dict[str, object]:
    """A sweep of `cluster_support.spread`: one float param plus fixed ones (rendezvous, work time)."""
    return {
        "name": name,
        "experiment": "cluster-tests",
        "objective": ref("spread"),
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"type": "float", "low": 0.0, "high": 1.0}, **fixed},
        "sampler": {"name": "random", "seed": 7},
        "pruner": {"name": "none"},
        "budget": {"trials": trials},
        "execution": {"concurrency": 2, "resources": {"cpu": 1}, "address": NOBODY_LISTENS},
        "artifacts": str(folder / "artifacts"),  # a local path on the head: shipped from other nodes
    }


def start_sweep(folder: Path, config: dict[str, object], cluster: ClusterProcess, *args: str, **env: str) -> Driver:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{config['name']}.yaml"
    path.write_text(yaml.safe_dump(config))
    return Driver.start(path, cluster.driver_env(**env), "--address", cluster.address, *args)


def ended(driver: Driver, store: str, artifacts: str) -> Ended:
    code, output = driver.wait(DEADLINE_S)
    match = SUMMARY.search(output)
    assert match is not None, f"no summary line (exit {code}):\n{output}"
    with tracking.connect(store, artifacts) as client:
        parent = find_sweep(client, match["id"])
    result = SweepResult(
        sweep_id=match["id"],
        parent_run_id=parent.run_id,
        status=match["status"],
        best=None,
        n_trials=int(match["n"]),
        n_finished=int(match["finished"]),
        n_pruned=int(match["pruned"]),
        n_failed=int(match["failed"]),
        n_killed=int(match["killed"] or 0),
        store_uri=store,
        artifact_root=artifacts,
    )
    return Ended(code, output, result)


def node_of(run: Run) -> str:
    """The Ray node id of a child run's `sweeps.node` tag (``hostname/node id``)."""
    host, _, node = run.tags["sweeps.node"].partition("/")
    assert host and node, run.tags
    return node


def wait_for_trials(driver: Driver, store: str, status: RunStatus, count: int) -> None:
    """Poll the store until `count` trials have `status`; fail with the driver's output at the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if driver.proc.poll() is not None:
            pytest.fail(f"the driver exited ({driver.proc.returncode}) early:\n{driver.output()}")
        try:
            with tracking.connect(store) as client:
                frame = client.search_runs(
                    filter=f"tags.`sweeps.kind` = 'trial' and attributes.status = '{status.value}'"
                )
                if frame.height >= count:
                    return
        except tracking.TrackingError:
            pass  # the driver has not created the schema yet
        time.sleep(0.2)  # polling another process's progress in the store
    driver.kill()
    pytest.fail(f"fewer than {count} {status.value} trials within {DEADLINE_S}s:\n{driver.output()}")


# -- one cluster for the module: a head and a worker node, one CPU each ------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterProcess]:
    handle = ClusterProcess.start(tmp_path_factory.mktemp("cluster"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def spread_sweep(cluster: ClusterProcess, tmp_path_factory: pytest.TempPathFactory) -> Ended:
    """One sweep through the CLI on the cluster: concurrency 2, SQLite store and artifact root on the head."""
    folder = tmp_path_factory.mktemp("spread")
    config = spread_config(folder, "spread", trials=6, meet_dir=str(folder / "meet"), meet_trials=2, meet_count=2)
    store = f"sqlite:///{folder / 'sweeps.db'}"
    driver = start_sweep(folder, config, cluster, "--store", store)
    return ended(driver, store, str(folder / "artifacts"))


def test_cli_address_overrides_the_config(spread_sweep: Ended, cluster: ClusterProcess) -> None:
    # The config names an address where nothing listens: the sweep ran only because --address won.
    assert spread_sweep.code == 0, spread_sweep.output
    assert f"ray @ {cluster.address} x2" in spread_sweep.output
    assert spread_sweep.result.status == "FINISHED"


def test_trials_run_on_both_nodes(spread_sweep: Ended, cluster: ClusterProcess) -> None:
    with spread_sweep.client() as client:
        runs = check_store(client, spread_sweep.result, metric="loss")
    assert spread_sweep.result.n_finished == len(runs) == 6
    assert {node_of(run) for run in runs} == {cluster.head_node_id, *cluster.worker_node_ids}


def test_artifacts_and_model_from_the_worker_node_load_back(spread_sweep: Ended, cluster: ClusterProcess) -> None:
    with spread_sweep.client() as client:
        runs = client.child_runs(spread_sweep.result.parent_run_id)
        remote = [run for run in runs if node_of(run) in cluster.worker_node_ids]
        assert remote, [run.tags["sweeps.node"] for run in runs]
        for run in runs:
            # Only a worker on another node than the coordinator ships its artifacts' bytes.
            assert run.tags["test.shipped"] == str(run in remote), run.tags
            assert {a.path for a in client.list_artifacts(run.run_id)} == {"info", "model"}
            model_files = {a.path for a in client.list_artifacts(run.run_id, "model")}
            assert model_files >= {"model/model.json", "model/model.pkl"}, model_files
            info = json.loads(client.artifacts(run.run_id).read_bytes("info/params.json"))
            assert info["x"] == pytest.approx(float(run.params["x"]))
            model = tracking.load_model(f"runs:/{run.run_id}/model", client)
            assert model.predict([[1.0, 2.0]]) == [pytest.approx(float(run.params["x"]))]


# -- losing a node, sharing a cluster and a database, refusing a bad join ----------------------


@pytest.mark.slow
def test_losing_the_worker_node_mid_sweep_still_completes_the_sweep(tmp_path: Path) -> None:
    lonely = ClusterProcess.start(tmp_path)  # its own cluster: this test takes a node away
    try:
        config = spread_config(
            tmp_path, "node-loss", trials=8, meet_dir=str(tmp_path / "meet"), meet_trials=2, meet_count=2, work_s=1.0
        )
        config["execution"]["retries"] = 1  # type: ignore[index]
        store = f"sqlite:///{tmp_path / 'sweeps.db'}"
        driver = start_sweep(tmp_path, config, lonely, "--store", store)
        # Trials 0 and 1 ran together, one per node; once one has finished, both nodes are busy
        # with their next trial, so the worker node dies with a trial in flight.
        wait_for_trials(driver, store, RunStatus.FINISHED, 1)
        lost = lonely.remove_worker(0)
        done = ended(driver, store, str(tmp_path / "artifacts"))
    finally:
        lonely.stop()
    assert done.code == 0, done.output
    assert done.result.status == "FINISHED" and done.result.n_trials == 8
    with done.client() as client:
        runs = check_store(client, done.result, metric="loss")
    hit = [run for run in runs if run.tags["sweeps.attempt"] != "0" or run.status is RunStatus.FAILED]
    assert hit, [(run.name, run.status, run.tags["sweeps.node"]) for run in runs]
    for run in hit:
        if run.status is RunStatus.FAILED:
            assert "died" in (run.error or ""), run.error
        else:  # retried on the surviving node, where the coordinator writes the artifacts itself
            assert node_of(run) == lonely.head_node_id and run.tags["test.shipped"] == "False"
    assert lost not in {node_of(run) for run in runs if run.tags["sweeps.attempt"] != "0"}


@pytest.mark.slow
@pytest.mark.postgres
def test_two_sweeps_at_once_share_one_cluster_and_one_postgres_database(
    cluster: ClusterProcess, postgres_uri: str, tmp_path: Path
) -> None:
    drivers = []
    for name in ("left", "right"):
        # Half a CPU per trial: both sweeps' workers fit on the two 1-CPU nodes at once, and the
        # first trial of each waits for the other's, so the sweeps provably overlap.
        config = spread_config(tmp_path, name, trials=5, meet_dir=str(tmp_path / "meet"), meet_trials=1, meet_count=2)
        config["execution"]["resources"] = {"cpu": 0.5}  # type: ignore[index]
        config["experiment"] = "shared-experiment"
        # The store comes from the environment, as it would with a password in it.
        drivers.append((name, start_sweep(tmp_path / name, config, cluster, SWEEPS_STORE=postgres_uri)))
    results = {name: ended(driver, postgres_uri, str(tmp_path / "artifacts")) for name, driver in drivers}
    seen: dict[str, list[Run]] = {}
    for name, done in results.items():
        assert done.code == 0, done.output
        assert done.result.status == "FINISHED" and done.result.n_finished == 5
        with done.client() as client:
            seen[name] = check_store(client, done.result, metric="loss")
            for run in seen[name]:
                model = tracking.load_model(f"runs:/{run.run_id}/model", client)
                assert model.predict([[0.0, 0.0]]) == [pytest.approx(float(run.params["x"]))]
    both = seen["left"] + seen["right"]
    assert len({run.run_id for run in both}) == len({run.artifact_uri for run in both}) == 10
    with tracking.connect(postgres_uri) as client:
        frame = client.search_runs(experiment="shared-experiment", filter="tags.`sweeps.kind` = 'trial'")
    assert set(frame["run_id"]) == {run.run_id for run in both}


def test_an_address_where_nothing_listens_fails_fast(tmp_path: Path) -> None:
    config = spread_config(tmp_path, "nowhere", trials=1)
    path = tmp_path / "nowhere.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    driver = Driver.start(path, env, "--store", f"sqlite:///{tmp_path / 'sweeps.db'}")
    code, output = driver.wait(60)  # Ray alone would retry for many minutes
    assert code == 1, output
    assert f"could not join the Ray cluster at '{NOBODY_LISTENS}'" in output and "nothing answers" in output


@pytest.mark.slow
def test_a_driver_without_the_cluster_token_is_refused(cluster: ClusterProcess, tmp_path: Path) -> None:
    config = spread_config(tmp_path, "intruder", trials=1)
    path = tmp_path / "intruder.yaml"
    path.write_text(yaml.safe_dump(config))
    env = cluster.driver_env(RAY_AUTH_TOKEN=secrets.token_hex(24))
    driver = Driver.start(path, env, "--address", cluster.address, "--store", f"sqlite:///{tmp_path / 'sweeps.db'}")
    code, output = driver.wait(120)
    assert code == 1, output
    assert "refused this driver's authentication token" in output and "RAY_AUTH_TOKEN" in output
