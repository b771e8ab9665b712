"""A multi-node Ray cluster in a child process, sweep drivers as child processes, and their objectives.

The test process may already hold the session's local Ray (one Ray per process), so the
cluster (`ray.cluster_utils.Cluster`, token auth on) lives in its own process, driven over
stdin/stdout; drivers are `sweeps run` processes joining it with `--address`.
Run as ``python -m tests.sweeps.cluster_support NODES CPUS`` it is that cluster process.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sweeps import Trial

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
START_DEADLINE_S = 180  # two nodes on a loaded 2-core CI machine take 20-40 s
CLI = "import sys; from sweeps.cli import main; sys.exit(main())"  # `sweeps ...` without the script


def ref(name: str) -> str:
    """The config `objective:` string for the function `name` of this module."""
    return f"{HERE}:{name}"


def auth_env(token: str) -> dict[str, str]:
    """What every process of one cluster (nodes and drivers) needs: token auth on, the same token."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}


# -- the cluster process, seen from the test ---------------------------------------------------


@dataclass
class ClusterProcess:
    """A child process owning a Ray cluster on this machine: a head and `workers` nodes, `cpus` CPUs each."""

    proc: subprocess.Popen[str]
    token: str
    address: str
    head_node_id: str
    worker_node_ids: list[str]
    log: Path
    removed: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, log_dir: Path, *, workers: int = 1, cpus: int = 1) -> ClusterProcess:
        token = secrets.token_hex(24)
        log = log_dir / "cluster.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.sweeps.cluster_support", str(workers), str(cpus)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            cwd=REPO,
            env={**os.environ, **auth_env(token), "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # a Ctrl-C of pytest reaches it through stdin EOF, not SIGINT
        )
        try:
            hello = _read_reply(proc, log, START_DEADLINE_S)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        return cls(proc, token, hello["address"], hello["head"], list(hello["workers"]), log)

    def driver_env(self, **extra: str) -> dict[str, str]:
        """The environment of a driver that joins this cluster (the token through env, as in production)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        return {**env, **auth_env(self.token), "PYTHONUNBUFFERED": "1", **extra}

    def remove_worker(self, index: int = 0, timeout_s: float = 60) -> str:
        """Kill every process of worker node `index` (as losing the machine would); returns its node id."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"remove {index}\n")
        self.proc.stdin.flush()
        node_id = str(_read_reply(self.proc, self.log, timeout_s)["removed"])
        self.removed.append(node_id)
        return node_id

    def stop(self, timeout_s: float = 60) -> None:
        """Shut the cluster down through its own handle (never `ray stop`: other Rays share this machine)."""
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.close()  # EOF: the cluster process shuts its nodes down and exits
                self.proc.wait(timeout_s)
            except (subprocess.TimeoutExpired, BrokenPipeError):
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _read_reply(proc: subprocess.Popen[str], log: Path, timeout_s: float) -> dict[str, object]:
    """The cluster process's next JSON line, or an error carrying its log at the deadline."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline() if ready else ""
    if not line:
        state = f"exited {proc.returncode}" if proc.poll() is not None else f"no answer within {timeout_s:g}s"
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"the test cluster process {state}:\n{tail}")
    return json.loads(line)


# -- sweep drivers ----------------------------------------------------------------------------


@dataclass
class Driver:
    """A `sweeps run` process; its output goes to a log file."""

    proc: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, config: Path, env: Mapping[str, str], *args: str) -> Driver:
        log = config.with_suffix(".log")
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", CLI, "run", str(config), "--no-report", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=config.parent,
                env=dict(env),
                start_new_session=True,
            )
        return cls(proc, log)

    def wait(self, timeout_s: float = 240) -> tuple[int, str]:
        """(exit code, output); kills the driver at the deadline."""
        try:
            code = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = -9
        return code, self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# -- objectives (shipped to the workers by value: a file reference) ----------------------------


def spread(trial: Trial) -> float:
    """Meets other trials at a rendezvous, logs steps, artifacts and a model, and says whether it shipped them.

    The rendezvous (fixed params `meet_dir`, `meet_trials`, `meet_count`) makes the first
    trials run at the same time, so each worker actor (one per node) is known to get one.
    """
    p = trial.params
    x = float(p["x"])  # type: ignore[arg-type]
    if trial.number < int(p.get("meet_trials", 0)):  # type: ignore[call-overload]
        _meet(Path(str(p["meet_dir"])), trial.run_id, int(p["meet_count"]))  # type: ignore[call-overload]
    for step in range(3):
        trial.log_metrics({"loss": (x - 0.5) ** 2 + 1 / (step + 1)}, step=step)
        trial.report((x - 0.5) ** 2 + 1 / (step + 1), step=step)
    time.sleep(float(p.get("work_s", 0.0)))  # type: ignore[arg-type]  # the trial's "training"
    # What the coordinator decided for this attempt: ship the bytes, or write the root directly.
    trial.set_tag("test.shipped", str(trial._assignment.ship_artifacts))
    trial.set_tag("test.pid", str(os.getpid()))
    trial.log_dict({"x": x, "trial": trial.number}, "info/params.json")
    trial.log_model(Constant(x), input_example=[[1.0, 2.0]])
    return (x - 0.5) ** 2


def _meet(folder: Path, name: str, count: int, timeout_s: float = 120) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).touch()
    deadline = time.monotonic() + timeout_s
    while len(list(folder.iterdir())) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(list(folder.iterdir()))} of {count} trials met in {folder}")
        time.sleep(0.05)  # polling a shared folder: the trials run in other processes (and nodes)


class Constant:
    """A model that predicts one number for every row."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, rows: object) -> list[float]:
        return [self.value for _ in rows]  # type: ignore[attr-defined]


# -- the cluster process itself ---------------------------------------------------------------


def _serve(workers: int, cpus: int) -> None:
    from ray.cluster_utils import Cluster

    # The nodes take this machine's address, not 127.0.0.1: Ray rewrites a loopback address to
    # it when a driver joins (ray-project/ray#59110). The token keeps everyone else out.
    node_args: dict[str, object] = {"num_cpus": cpus}
    cluster = Cluster(initialize_head=True, head_node_args={**node_args, "include_dashboard": False})
    try:
        nodes = [cluster.add_node(**node_args) for _ in range(workers)]
        cluster.wait_for_nodes()
        hello = {"address": cluster.address, "head": cluster.head_node.node_id, "workers": [n.node_id for n in nodes]}
        print(json.dumps(hello), flush=True)
        for line in sys.stdin:  # EOF (the test closed stdin, or died): shut down
            command, _, arg = line.strip().partition(" ")
            if command == "remove":
                node = nodes[int(arg)]
                cluster.remove_node(node, allow_graceful=False)  # as if the machine vanished
                print(json.dumps({"removed": node.node_id}), flush=True)
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]))
