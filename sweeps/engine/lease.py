"""The driver's hold on its sweep: a store lease taken before anything is written, renewed by a
heartbeat thread every third of its TTL, given back when the sweep ends (a killed driver's lapses)."""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from sweeps.errors import LeaseLost, SweepBusy, SweepsError
from tracking.entities import Lease, Run, RunStatus
from tracking.errors import SweepLeased, TrackingError
from tracking.limits import KEY_LEN
from tracking.store import Store, open_store

__all__ = ["DEFAULT_TTL_S", "LEASE_TTL_ENV", "DriverLease", "is_stale", "lease_ttl_s", "sweep_leases"]

log = logging.getLogger(__name__)

LEASE_TTL_ENV = "SWEEPS_LEASE_TTL_S"
# Long enough to ride out a store restart or a stalled moment of the driver, short enough
# that a resume after a crash does not wait long.
DEFAULT_TTL_S = 30.0


def lease_ttl_s() -> float:
    """The lease TTL: ``$SWEEPS_LEASE_TTL_S`` seconds, else `DEFAULT_TTL_S`."""
    text = os.environ.get(LEASE_TTL_ENV, "").strip()
    if not text:
        return DEFAULT_TTL_S
    try:
        ttl = float(text)
    except ValueError:
        ttl = math.nan
    if not math.isfinite(ttl) or ttl <= 0:
        raise SweepsError(f"${LEASE_TTL_ENV} must be a positive number of seconds, got {text!r}")
    return ttl


class DriverLease:
    """One driver's lease on one sweep; `acquire` once, `release` always (thread-safe).

    When a renewal finds the lease taken over (this driver stalled past its TTL and another one
    resumed the sweep), ``on_lost`` is called once from the heartbeat thread with the reason.
    """

    def __init__(self, store_uri: str, sweep_id: str, *, ttl_s: float | None = None) -> None:
        self._store_uri = store_uri
        self.sweep_id = sweep_id
        self.ttl_s = lease_ttl_s() if ttl_s is None else ttl_s
        # A fresh id per driver: a pid is reused across hosts and restarts, this never is.
        self.owner = uuid.uuid4().hex
        self.host = (socket.gethostname() or "unknown")[:KEY_LEN]
        self.pid = os.getpid()
        self._store: Store | None = None
        self._run_id: str | None = None
        self._lost: str | None = None
        self._renewed_at = 0.0  # time.monotonic() of the last renewal the store confirmed
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_lost: Callable[[str], None] | None = None

    @property
    def lost(self) -> str | None:
        """Why the lease was lost, or None while it is held (or was never taken)."""
        return self._lost

    def acquire(self, sweep_run_id: str) -> None:
        """Own the sweep whose parent run is ``sweep_run_id``; `SweepBusy` when another driver does."""
        if self._run_id == sweep_run_id:
            return
        if self._run_id is not None:
            raise SweepsError(f"this driver already holds the lease of run {self._run_id}")
        if self._store is None:
            self._store = open_store(self._store_uri)
        try:
            self._store.acquire_lease(sweep_run_id, self.owner, self.host, self.pid, self.ttl_s)
        except SweepLeased as exc:
            raise SweepBusy(
                f"sweep {self.sweep_id} already has a driver: {exc}. Nothing was changed; "
                f"wait for that driver to end (or stop it), then run `sweeps resume {self.sweep_id}` again",
                host=exc.host,
                pid=exc.pid,
                expires_in_s=exc.expires_in_s,
            ) from exc
        self._renewed_at = time.monotonic()
        self._run_id = sweep_run_id
        self._thread = threading.Thread(target=self._beat, name=f"sweeps-lease-{self.sweep_id}", daemon=True)
        self._thread.start()

    def check(self) -> None:
        """Renew now; `LeaseLost` when the lease is no longer this driver's."""
        if self._run_id is None or self._store is None:
            return
        if self._lost is None:
            self._renew(self._store, self._run_id)
        if self._lost is not None:
            raise LeaseLost(self._lost)

    def confirm(self) -> None:
        """`LeaseLost` unless the lease is surely still this driver's; called before each launch.

        Free while the heartbeat keeps up; once its last confirmed renewal is two thirds of the
        TTL old (the store was slow, the process stalled) the lease may be about to lapse, or
        have lapsed and been taken over, so this renews before anything more is launched.
        """
        if self._lost is None and time.monotonic() - self._renewed_at > self.ttl_s * 2 / 3:
            self.check()
        if self._lost is not None:
            raise LeaseLost(self._lost)

    def release(self) -> None:
        """Stop the heartbeat and give the lease back (if still ours); never raises a store error."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        store, run_id = self._store, self._run_id
        self._store = None
        if store is None:
            return
        try:
            if run_id is not None and self._lost is None:
                store.release_lease(run_id, self.owner)
        except TrackingError as exc:  # it lapses on its own within the TTL
            log.warning("could not release the lease of sweep %s (it lapses by itself): %s", self.sweep_id, exc)
        finally:
            store.close()

    def _beat(self) -> None:
        store, run_id = self._store, self._run_id
        assert store is not None and run_id is not None
        while not self._stop.wait(self.ttl_s / 3) and self._lost is None:
            try:
                self._renew(store, run_id)
            except TrackingError as exc:
                # The store is away: keep trying. Should it stay away past the TTL and another
                # driver take over meanwhile, the next renewal says so.
                log.warning("could not renew the lease of sweep %s: %s", self.sweep_id, exc)

    def _renew(self, store: Store, run_id: str) -> None:
        started = time.monotonic()
        try:
            store.renew_lease(run_id, self.owner, self.ttl_s)
        except SweepLeased as exc:
            self._lose(str(exc))
            return
        self._renewed_at = max(self._renewed_at, started)  # the TTL counts from before the call

    def _lose(self, reason: str) -> None:
        with self._lock:
            if self._lost is not None:
                return
            self._lost = (
                f"sweep {self.sweep_id}: this driver (pid {self.pid} on {self.host}) lost its lease: {reason}; "
                "it launched no more trials and left the sweep to the other driver"
            )
        log.warning("%s", self._lost)
        callback = self.on_lost
        if callback is not None:
            try:
                callback(self._lost)
            except Exception:  # the lease is lost either way; the sweep ends on the next check
                log.warning("stopping the sweep after its lease was lost failed", exc_info=True)


def sweep_leases(store_uri: str, sweep_run_ids: Sequence[str]) -> dict[str, Lease | None]:
    """The stored lease of each sweep parent run (None where there is none), read on a store of its own."""
    if not sweep_run_ids:
        return {}
    store = open_store(store_uri)
    try:
        return {run_id: store.get_lease(run_id) for run_id in dict.fromkeys(sweep_run_ids)}
    finally:
        store.close()


def is_stale(parent: Run, lease: Lease | None) -> bool:
    """A sweep whose parent says RUNNING but that no driver owns: its driver died (or was killed)
    and its lease lapsed; `sweeps resume` continues it."""
    return parent.status is RunStatus.RUNNING and (lease is None or not lease.live)
