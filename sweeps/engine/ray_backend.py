"""`backend: ray`: the only module of `sweeps` that imports Ray.

Starts or joins Ray, runs the coordinator as a threaded actor pinned to the driver's node
(so a SQLite store there works), and `concurrency` long-lived worker actors that pull
trials from it until it has none left. The driver watches them: a dead worker is reported
and replaced, a trial past `trial_timeout_s` has its worker killed, Ctrl-C kills them all.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import ray
from optuna.distributions import BaseDistribution
from ray import cloudpickle
from ray.actor import ActorHandle
from ray.exceptions import AuthenticationError, RayActorError, RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from sweeps.config import SweepConfig
from sweeps.engine.coordinator import Coordinator
from sweeps.engine.executor import Objective, run_trial
from sweeps.engine.messages import Outbox, WorkerInfo
from sweeps.engine.parent import SweepSetup
from sweeps.engine.result import ProgressCallback, SweepProgress
from sweeps.errors import SweepsError

__all__ = ["RayBackend", "RayChannel", "TrialWorker", "connect_ray", "set_auth_mode"]

log = logging.getLogger(__name__)

POLL_S = 0.25
AUTH_MODE_ENV = "RAY_AUTH_MODE"
_TOKEN_SOURCES = ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


# -- starting or joining Ray -----------------------------------------------------------------


def connect_ray(address: str | None) -> bool:
    """Make sure Ray is up in this process; True when this call started (and so owns) it.

    `address` None starts a local Ray sized to the machine; "auto", "host:port" or
    "ray://host:port" join a cluster. Ray already initialised in this process is reused.
    """
    if ray.is_initialized():
        return False
    set_auth_mode(os.environ.get(AUTH_MODE_ENV) or _auth_mode(address))
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address is not None:
        _check_reachable(address)
    try:
        if address is None:
            # "local": a fresh instance even when RAY_ADDRESS or a `ray start` cluster exists.
            ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError, RayError) as exc:
        # RayError: ray.init raises AuthenticationError itself when token auth is on and no token is set.
        where = "start a local Ray" if address is None else f"join the Ray cluster at {address!r}"
        raise SweepsError(f"could not {where}: {_join_error(exc)}") from exc
    return True


def set_auth_mode(mode: str) -> None:
    """Set Ray's token authentication ("token" or "disabled") for this process and its children."""
    os.environ[AUTH_MODE_ENV] = mode  # inherited by the Ray processes this driver starts
    # Ray reads its config once at import; re-read it so this process uses the same mode
    # (ray.init does the same when it turns token auth on by itself).
    from ray._raylet import Config

    Config.initialize("")


def _auth_mode(address: str | None) -> str:
    """Explicit token-auth setting (Ray 2.60 otherwise guesses, and warns about it).

    A local Ray gets token auth (Ray generates ~/.ray/auth_token if needed); joining a
    cluster uses a token when one is configured, as a cluster with auth on requires.
    """
    if address is None:
        return "token"
    if any(os.environ.get(name) for name in _TOKEN_SOURCES) or (Path.home() / ".ray" / "auth_token").is_file():
        return "token"
    return "disabled"


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast when nothing listens at `address`: ray.init would retry for many minutes."""
    if address == "auto":
        return  # Ray looks the address up itself ($RAY_ADDRESS, or the last `ray start` here)
    host, _, port = address.removeprefix("ray://").rpartition(":")
    host = host.strip("[]")
    target, note = host, ""
    if not address.startswith("ray://") and host in _LOOPBACK:
        # Ray dials this machine's own address instead (ray-project/ray#59110), so probe that.
        target = ray.util.get_node_ip_address()
        note = f" (Ray dials {target} for {host}; a head started with --node-ip-address {host} cannot be joined)"
    try:
        with socket.create_connection((target, int(port)), timeout=timeout_s):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SweepsError(
            f"could not join the Ray cluster at {address!r}: nothing answers at {target}:{port} ({reason}){note}; "
            f"start the head there (`ray start --head --port {port}`) or fix execution.address / --address"
        ) from exc


def _join_error(exc: BaseException) -> str:
    """What went wrong when starting or joining Ray, with the fix when the token was refused."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    # Ray wraps the refusal in a ConnectionError; the AuthenticationError survives only as text.
    if any(isinstance(e, AuthenticationError) or "InvalidAuthToken" in str(e) for e in chain):
        return (
            "the cluster refused this driver's authentication token; give the driver the cluster's token "
            "in $RAY_AUTH_TOKEN (or a file named by $RAY_AUTH_TOKEN_PATH, default ~/.ray/auth_token) "
            "with RAY_AUTH_MODE=token"
        )
    return str(exc).strip() or type(exc).__name__


def _check_resources(cfg: SweepConfig) -> None:
    need = cfg.execution.resources
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    best_cpu = max((r.get("CPU", 0.0) for r in nodes), default=0.0)
    best_gpu = max((r.get("GPU", 0.0) for r in nodes), default=0.0)
    if need.cpu > best_cpu or need.gpu > best_gpu:
        raise SweepsError(
            f"execution.resources asks for cpu: {need.cpu:g}, gpu: {need.gpu:g} per trial, but no Ray node "
            f"has that much (largest: {best_cpu:g} CPU, {best_gpu:g} GPU); lower execution.resources"
        )


# -- the worker side ---------------------------------------------------------------------------


class RayChannel:
    """A trial's channel to the coordinator actor (one blocking call per method)."""

    def __init__(self, coordinator: ActorHandle) -> None:
        self._coordinator = coordinator

    def suggest(self, number: int, name: str, distribution: BaseDistribution, outbox: Outbox) -> object:
        return ray.get(self._coordinator.suggest.remote(number, name, distribution, outbox))

    def report(self, number: int, step: int, value: float, outbox: Outbox) -> bool:
        return ray.get(self._coordinator.report.remote(number, step, value, outbox))

    def send(self, number: int, outbox: Outbox) -> None:
        ray.get(self._coordinator.send.remote(number, outbox))

    def put_artifacts(self, number: int, files: Mapping[str, bytes]) -> None:
        ray.get(self._coordinator.put_artifacts.remote(number, dict(files)))


class TrialWorker:
    """A long-lived worker actor: pulls trials from the coordinator until there are none."""

    def __init__(self, worker_id: str, objective: bytes) -> None:
        self._worker_id = worker_id
        self._objective_blob = objective

    def run(self, coordinator: ActorHandle) -> int:
        """Run trials until the coordinator has none left; returns how many ran."""
        info = WorkerInfo(self._worker_id, socket.gethostname(), ray.get_runtime_context().get_node_id())
        try:
            objective: Objective = cloudpickle.loads(self._objective_blob)
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(exc)).strip()
            ray.get(coordinator.abort.remote(f"a worker on {info.node} could not load the objective: {detail}"))
            return 0
        channel = RayChannel(coordinator)
        ran = 0
        assignment = ray.get(coordinator.next_trial.remote(info))
        while assignment is not None:
            outcome = run_trial(objective, assignment, channel)
            ran += 1
            assignment = ray.get(coordinator.finish_and_next.remote(info, outcome))
        return ran


# -- the driver side ---------------------------------------------------------------------------


@dataclass
class _Slot:
    worker_id: str
    actor: ActorHandle
    ref: ray.ObjectRef


class RayBackend:
    """Drives a sweep on Ray: coordinator actor + `concurrency` worker actors."""

    def __init__(self, cfg: SweepConfig, objective: Objective) -> None:
        self._cfg = cfg
        self._objective_blob = _pickle_objective(objective, cfg.objective)
        self._started_ray = False
        self._coordinator: ActorHandle | None = None
        self._slots: dict[ray.ObjectRef, _Slot] = {}
        self._deaths = 0

    def start(self, setup: SweepSetup) -> tuple[str, str]:
        self._started_ray = connect_ray(self._cfg.execution.address)
        _check_resources(self._cfg)
        node_id = ray.get_runtime_context().get_node_id()
        self._coordinator = _actor_class(Coordinator).options(
            num_cpus=0,
            max_concurrency=self._cfg.execution.concurrency + 4,
            max_restarts=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node_id, soft=False),
        ).remote(replace(setup, node_id=node_id))
        # Workers start (and import the objective's stack) while the coordinator sets up the
        # sweep; their first call waits in the coordinator's queue until it is ready.
        for _ in range(self._cfg.execution.concurrency):
            self._spawn()
        try:
            return ray.get(self._coordinator.ready.remote())
        except RayError as exc:
            self._kill_workers()
            raise SweepsError(f"the sweep coordinator could not start: {_cause(exc)}") from exc

    @property
    def coordinator(self) -> ActorHandle:
        assert self._coordinator is not None, "start() first"
        return self._coordinator

    def execute(self, progress: ProgressCallback) -> None:
        last_poll = 0.0
        while self._slots:
            ready, _ = ray.wait(list(self._slots), num_returns=1, timeout=POLL_S)
            for ref in ready:
                self._reap(ref)
            if time.monotonic() - last_poll >= POLL_S or ready:
                last_poll = time.monotonic()
                snapshot: SweepProgress = ray.get(self.coordinator.progress.remote())
                progress(snapshot)
                if snapshot.done:
                    break  # workers still listed are idle or were never scheduled
                self._enforce_timeouts(snapshot)
        self._kill_workers()

    def _spawn(self) -> None:
        worker_id = f"w-{uuid.uuid4().hex[:8]}"
        res = self._cfg.execution.resources
        actor = (
            _actor_class(TrialWorker)
            .options(num_cpus=res.cpu, num_gpus=res.gpu, max_restarts=0, max_task_retries=0)
            .remote(worker_id, self._objective_blob)
        )
        ref = actor.run.remote(self.coordinator)
        self._slots[ref] = _Slot(worker_id, actor, ref)

    def _reap(self, ref: ray.ObjectRef) -> None:
        slot = self._slots.pop(ref)
        try:
            ray.get(ref)
            return  # the loop ended: the coordinator had nothing more for it
        except RayActorError as exc:
            reason = _death_reason(exc)
        except RayError as exc:
            reason = f"worker error: {_cause(exc)}"
        self._deaths += 1
        more = ray.get(self.coordinator.worker_lost.remote(slot.worker_id, reason))
        ray.kill(slot.actor, no_restart=True)
        budget = self._cfg.budget.trials * (self._cfg.execution.retries + 1) + 2 * self._cfg.execution.concurrency
        if self._deaths > budget:
            ray.get(self.coordinator.abort.remote(f"workers keep dying ({reason}); giving up"))
        elif more:
            self._spawn()

    def _enforce_timeouts(self, snapshot: SweepProgress) -> None:
        limit = self._cfg.execution.trial_timeout_s
        if limit is None:
            return
        by_worker = {s.worker_id: s for s in self._slots.values()}
        for trial in snapshot.running:
            slot = by_worker.get(trial.worker_id)
            if slot is not None and trial.elapsed_s > limit:
                ray.kill(slot.actor, no_restart=True)
                ray.get(self.coordinator.worker_lost.remote(slot.worker_id, "killed: trial timeout", trial.number))

    def _kill_workers(self) -> None:
        for slot in self._slots.values():
            ray.kill(slot.actor, no_restart=True)
        self._slots.clear()

    def progress(self) -> SweepProgress:
        return ray.get(self.coordinator.progress.remote())

    def interrupt(self) -> None:
        self._kill_workers()
        ray.get(self.coordinator.interrupt.remote())

    def abort(self, error: str) -> None:
        self._kill_workers()
        ray.get(self.coordinator.abort.remote(error))

    def finalize(self) -> SweepProgress:
        return ray.get(self.coordinator.finalize.remote())

    def close(self) -> None:
        self._kill_workers()
        if self._coordinator is not None:
            ray.kill(self._coordinator, no_restart=True)
            self._coordinator = None
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False


@functools.cache
def _actor_class(cls: type) -> ray.actor.ActorClass:
    return ray.remote(cls)


def _pickle_objective(objective: Objective, ref: str) -> bytes:
    # A `path/file.py:function` objective is not importable on the workers: ship its code.
    module = getattr(objective, "__module__", None)
    target = ref.strip().rpartition(":")[0]
    if target.endswith(".py") and module:
        loaded = sys.modules.get(module)
        if loaded is not None:
            cloudpickle.register_pickle_by_value(loaded)
    try:
        return cloudpickle.dumps(objective)
    except Exception as exc:
        raise SweepsError(f"the objective {ref!r} cannot be sent to Ray workers: {exc}") from exc


def _death_reason(exc: RayActorError) -> str:
    text = str(exc)
    for marker in ("exit detail:", "Worker exits"):
        if marker in text:
            return text[text.index(marker):].splitlines()[0].strip()[:300]
    return text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__


def _cause(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1][:500] if text else type(exc).__name__
