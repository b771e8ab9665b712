"""`backend: ray`: the only module of `sweeps` that imports Ray.

Starts or joins Ray and runs `concurrency` long-lived worker actors (`ray_worker.py`); the
coordinator stays in this process, so a SQLite store on the driver's machine works. A dead
worker is reported and replaced, a trial past `trial_timeout_s` has its worker killed,
Ctrl-C kills them all.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ray
from ray import cloudpickle
from ray.actor import ActorHandle
from ray.exceptions import AuthenticationError, GetTimeoutError, RayActorError, RayError

from sweeps.config import SweepConfig
from sweeps.engine import ray_leftovers
from sweeps.engine.coordinator import Coordinator
from sweeps.engine.executor import Objective
from sweeps.engine.parent import SweepSetup
from sweeps.engine.ray_worker import ChannelCall, LoadFailure, Reply, TrialWorker
from sweeps.engine.result import ProgressCallback, SweepProgress
from sweeps.errors import SweepsError
from tracking.error_text import error_summary, memory_figures

__all__ = ["RayBackend", "connect_ray", "set_auth_mode"]

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
            ray_leftovers.end_leftovers()  # what a SIGKILLed driver's Ray left running
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


# -- the driver side ---------------------------------------------------------------------------


class _Stopped(Exception):
    """The backend is shutting down: a worker's driver thread ends quietly."""


@dataclass
class _Slot:
    """One worker actor and the driver thread that feeds it trials."""

    worker_id: str
    actor: ActorHandle


class RayBackend:
    """Drives a sweep on Ray: the coordinator in this process, `concurrency` worker actors.

    One driver thread per worker hands it trials and answers its channel calls. Keeping the
    coordinator here (not in an actor of its own) saves a process start and an extra hop per
    call, and the store is written from the driver's own machine.
    """

    def __init__(self, cfg: SweepConfig, objective: Objective) -> None:
        self._cfg = cfg
        self._objective_blob = _pickle_objective(objective, cfg.objective)
        self._started_ray = False
        self._coordinator: Coordinator | None = None
        self._slots: dict[str, _Slot] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a trial ended or a driver thread stopped
        self._stopped = False
        self._deaths = 0
        self._ray_record: Path | None = None

    def start(self, setup: SweepSetup) -> tuple[str, str]:
        self._started_ray = connect_ray(self._cfg.execution.address)
        if self._started_ray and self._cfg.execution.address is None:
            self._ray_record = ray_leftovers.record_started_ray()  # for the next driver, should this one be killed
        _check_resources(self._cfg)
        # Worker processes start (and import the objective's stack) while this process sets up
        # the store and the parent run.
        initial = [self._new_slot() for _ in range(self._cfg.execution.concurrency)]
        try:
            self._coordinator = Coordinator(replace(setup, node_id=_driver_node()))
        except BaseException:
            self._kill_workers()
            raise
        for slot in initial:
            thread = threading.Thread(target=self._drive, args=(slot,), name=f"sweeps-{slot.worker_id}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self._coordinator.sweep_id, self._coordinator.parent_run_id

    @property
    def coordinator(self) -> Coordinator:
        assert self._coordinator is not None, "start() first"
        return self._coordinator

    def execute(self, progress: ProgressCallback) -> None:
        coordinator = self.coordinator
        last = time.monotonic()
        while True:
            with self._changed:
                self._changed.wait(POLL_S)
            finished = not any(t.is_alive() for t in self._threads)
            if not finished and time.monotonic() - last < POLL_S:
                continue  # trials end many times a second: the display needs a few updates a second
            last = time.monotonic()
            snapshot = coordinator.progress()
            progress(snapshot)
            if finished or snapshot.done:
                break  # workers still listed are idle or were never scheduled
        self._kill_workers()

    # -- one driver thread per worker ------------------------------------------------------

    def _drive(self, slot: _Slot) -> None:
        """Feed `slot` trials until none are left; replace its worker when it dies."""
        coordinator = self.coordinator
        current: _Slot | None = slot
        while current is not None and not self._stopped:
            try:
                self._run_trials(current, coordinator)
                return
            except _Stopped:
                return
            except _CannotLoad as failure:
                coordinator.abort(f"a worker could not load the objective: {failure}")
                return
            except _WorkerGone as gone:
                current = self._replace(current, gone, coordinator)
            except Exception as exc:  # the coordinator failed (the store went away, say): the sweep cannot go on
                log.warning("the driver thread of worker %s failed", current.worker_id, exc_info=True)
                coordinator.abort(f"the sweep driver failed: {type(exc).__name__}: {exc}")
                return
            finally:
                with self._changed:
                    self._changed.notify_all()

    def _run_trials(self, slot: _Slot, coordinator: Coordinator) -> None:
        info = self._call(slot, slot.actor.info.remote(), None, None)
        if isinstance(info, LoadFailure):
            raise _CannotLoad(info.detail)
        assignment = coordinator.next_trial(info)
        while assignment is not None:
            deadline = _deadline(self._cfg.execution.trial_timeout_s)
            message = self._call(slot, slot.actor.start.remote(assignment), deadline, assignment.number)
            while isinstance(message, ChannelCall):
                reply = _answer(coordinator, message)
                message = self._call(slot, slot.actor.resume.remote(reply), deadline, assignment.number)
            coordinator.finish(message)
            with self._changed:
                self._changed.notify_all()
            assignment = coordinator.next_trial(info)

    def _call(self, slot: _Slot, ref: ray.ObjectRef, deadline: float | None, number: int | None) -> Any:
        try:
            return ray.get(ref, timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
        except GetTimeoutError:
            ray.kill(slot.actor, no_restart=True)
            raise _WorkerGone("killed: trial timeout", timed_out=number) from None
        except RayError as exc:
            if self._stopped:
                raise _Stopped from None
            reason = _death_reason(exc) if isinstance(exc, RayActorError) else f"worker error: {_cause(exc)}"
            raise _WorkerGone(reason) from None

    def _replace(self, slot: _Slot, gone: _WorkerGone, coordinator: Coordinator) -> _Slot | None:
        """Report the lost worker; a new one takes its place while trials are left."""
        with self._lock:
            self._slots.pop(slot.worker_id, None)
            if gone.timed_out is None:
                self._deaths += 1
            deaths = self._deaths
        ray.kill(slot.actor, no_restart=True)
        if self._stopped:
            return None
        more = coordinator.worker_lost(slot.worker_id, gone.reason, gone.timed_out)
        budget = self._cfg.budget.trials * (self._cfg.execution.retries + 1) + 2 * self._cfg.execution.concurrency
        if deaths > budget:
            coordinator.abort(f"workers keep dying ({gone.reason}); giving up")
            return None
        if not more:
            return None
        try:
            return self._new_slot()
        except _Stopped:
            return None

    def _new_slot(self) -> _Slot:
        worker_id = f"w-{uuid.uuid4().hex[:8]}"
        res = self._cfg.execution.resources
        actor = (
            _actor_class(TrialWorker)
            .options(num_cpus=res.cpu, num_gpus=res.gpu, max_restarts=0, max_task_retries=0)
            .remote(worker_id, self._objective_blob)
        )
        slot = _Slot(worker_id, actor)
        with self._lock:
            if self._stopped:
                ray.kill(actor, no_restart=True)
                raise _Stopped
            self._slots[worker_id] = slot
        return slot

    def _kill_workers(self) -> None:
        with self._lock:
            self._stopped = True
            slots = list(self._slots.values())
            self._slots.clear()
        for slot in slots:
            ray.kill(slot.actor, no_restart=True)

    # -- the sweep's end -------------------------------------------------------------------

    def progress(self) -> SweepProgress:
        return self.coordinator.progress()

    def interrupt(self) -> None:
        self._kill_workers()
        self.coordinator.interrupt()

    def abort(self, error: str) -> None:
        self._kill_workers()
        self.coordinator.abort(error)

    def finalize(self) -> SweepProgress:
        self._kill_workers()
        for thread in self._threads:
            thread.join()  # each ends once its worker's pending call fails or returns
        return self.coordinator.finalize()

    def close(self) -> None:
        self._kill_workers()
        self._coordinator = None
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False
            ray_leftovers.forget(self._ray_record)
            self._ray_record = None


class _CannotLoad(Exception):
    """A worker could not unpickle the objective (a missing module on its node, say)."""


class _WorkerGone(Exception):
    """A worker actor died or was killed for running past `trial_timeout_s` (`timed_out`: its trial)."""

    def __init__(self, reason: str, timed_out: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


def _answer(coordinator: Coordinator, call: ChannelCall) -> Reply:
    """Serve a trial's channel call; an error goes back to be raised inside the trial."""
    try:
        if call.kind == "report":
            step, value = call.args
            return Reply(coordinator.report(call.number, step, value, call.outbox))  # type: ignore[arg-type]
        if call.kind == "suggest":
            name, distribution = call.args
            return Reply(coordinator.suggest(call.number, name, distribution, call.outbox))  # type: ignore[arg-type]
        if call.kind == "send":
            coordinator.send(call.number, call.outbox)
            return Reply()
        coordinator.put_artifacts(call.number, call.files or {})
        return Reply()
    except Exception as exc:
        return Reply(error=_portable(exc))


def _portable(exc: Exception) -> BaseException:
    """`exc` if it pickles (to be raised in the worker), else a SweepsError with its text."""
    try:
        cloudpickle.loads(cloudpickle.dumps(exc))
        return exc
    except Exception:
        return SweepsError(f"{type(exc).__name__}: {exc}")


def _deadline(limit_s: float | None) -> float | None:
    return None if limit_s is None else time.monotonic() + limit_s


def _driver_node() -> str | None:
    """This process's Ray node; None for a Ray client (`ray://`), whose machine is no cluster node."""
    if ray.util.client.ray.is_connected():
        return None
    return ray.get_runtime_context().get_node_id()


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
    memory = memory_figures(text)  # an OOM kill: the figures, not the help text around them
    if memory is not None:
        return f"killed by Ray for lack of memory: {memory}"[:300]
    for marker in ("exit detail:", "Worker exits"):
        if marker in text:
            return text[text.index(marker) :].splitlines()[0].strip()[:300]
    return text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__


def _cause(exc: BaseException) -> str:
    return error_summary(str(exc), 500) or type(exc).__name__
