"""The HTTP store: `tracking.store.base.Store` over a Sweeps server, so clients hold no database
credentials. Records travel as JSON, metric points as binary frames (`tracking.wire`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote

from tracking.entities import Experiment, Lease, Metric, Run, RunStatus
from tracking.errors import RunExists, StoreError
from tracking.gc_pause import paused_gc
from tracking.point_block import PointBlock
from tracking.store.base import PointBatch, RunEnd
from tracking.store.http_artifacts import HttpArtifacts
from tracking.store.http_registry import HttpRegistryStore
from tracking.store.http_transport import RETRY_FOR_S, Transport
from tracking.wire import (
    API,
    JSON_TYPE,
    POINTS_TYPE,
    as_blocks,
    blocks_to_histories,
    decode_frame,
    dumps,
    encode_frame,
    experiment_from,
    lease_from,
    run_from,
)

TOKEN_ENV = "SWEEPS_TOKEN"
MAX_FRAME_BYTES = 16 * 1024 * 1024  # well below the server's default body limit (64 MiB)
OPEN_RETRY_FOR_S = 10.0  # a server that is not up by then is not starting


def _q(text: str) -> str:
    return quote(text, safe="")


class HttpStore:
    """A server's store; thread-safe (one keep-alive connection pool), records frozen.

    ``token``: the bearer token (None: ``$SWEEPS_TOKEN``; a server in ``sweeps ui`` mode needs
    none). Opening asks the server who the token belongs to, so a bad token fails here (401).
    """

    sink_writers = 3  # a few batches in flight hide the round trip

    def __init__(
        self,
        uri: str,
        token: str | None = None,
        *,
        retry_for_s: float = RETRY_FOR_S,
        timeout_s: float = 60.0,
    ) -> None:
        self.uri = uri.rstrip("/")
        self._t = Transport(self.uri, token or os.environ.get(TOKEN_ENV), timeout_s=timeout_s, retry_for_s=retry_for_s)
        try:
            me = self._t.call("GET", f"{API}/whoami", retry_for_s=min(retry_for_s, OPEN_RETRY_FOR_S))
        except BaseException:
            self._t.close()
            raise
        self.user: str = me["user"]
        self.auth: bool = bool(me["auth"])

    def __repr__(self) -> str:
        return f"HttpStore({self.uri!r})"

    def close(self) -> None:
        self._t.close()

    def check_writable(self) -> None:
        """Nothing to check here: the server's own store is its concern, and each write checks the caller's role."""
        self._check_open()

    def registry_store(self) -> HttpRegistryStore:
        self._check_open()
        return HttpRegistryStore(self._t)

    def artifacts(self, run: Run) -> HttpArtifacts:
        return HttpArtifacts(self._t, run)

    def _check_open(self) -> None:
        self._t._check_open()

    def _run(self, run_id: str) -> str:
        return f"{API}/runs/{_q(run_id)}"

    # -- experiments ----------------------------------------------------------------------

    def get_or_create_experiment(self, name: str, artifact_root: str) -> Experiment:
        # The server owns the artifact root: the client's ``artifact_root`` does not travel.
        return experiment_from(self._t.call("POST", f"{API}/experiments", {"name": name}))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        found = self._t.call("GET", f"{API}/experiments/by-name", params={"name": name})
        return None if found is None else experiment_from(found)

    def get_experiment(self, experiment_id: int) -> Experiment:
        return experiment_from(self._t.call("GET", f"{API}/experiments/{int(experiment_id)}"))

    def list_experiments(self) -> list[Experiment]:
        return [experiment_from(d) for d in self._t.call("GET", f"{API}/experiments")]

    # -- runs -----------------------------------------------------------------------------

    def create_run(
        self,
        experiment: Experiment,
        *,
        name: str | None,
        parent_run_id: str | None,
        tags: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        user: str | None,
        run_id: str | None = None,
    ) -> Run:
        # The id is chosen here, so a retry after a lost answer finds the run it created.
        chosen = run_id or uuid.uuid4().hex
        body = {
            "experiment_id": experiment.experiment_id,
            "name": name,
            "parent_run_id": parent_run_id,
            "tags": dict(tags),
            "params": dict(params or {}),
            "user": user,
            "run_id": chosen,
        }
        try:
            return run_from(self._t.call("POST", f"{API}/runs", body))
        except RunExists as exc:
            retried = getattr(exc, "attempts", 1) > 1
            if run_id is not None and not retried:
                raise
            existing = self.get_run(chosen)
            ours = (
                existing.experiment_id == experiment.experiment_id
                and existing.parent_run_id == parent_run_id
                and (name is None or existing.name == name)
                and dict(existing.tags) == dict(tags)
            )
            if not ours:
                raise
            return existing

    def get_run(self, run_id: str) -> Run:
        return run_from(self._t.call("GET", self._run(run_id)))

    @paused_gc()
    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        if not run_ids:
            return []
        return [run_from(d) for d in self._t.call("POST", f"{API}/runs/get", {"run_ids": list(run_ids)})]

    @paused_gc()
    def child_runs(self, parent_run_id: str) -> list[Run]:
        return [run_from(d) for d in self._t.call("GET", f"{self._run(parent_run_id)}/children")]

    def run_status(self, run_id: str) -> RunStatus:
        return RunStatus(self._t.call("GET", f"{self._run(run_id)}/status")["status"])

    def end_run(self, run_id: str, status: RunStatus, error: str | None = None) -> None:
        self._t.call("POST", f"{self._run(run_id)}/end", {"status": RunStatus(status).value, "error": error})

    def end_runs(self, ends: Sequence[RunEnd], batch: PointBatch = ()) -> None:
        meta = {"ends": [[run_id, RunStatus(status).value, error] for run_id, status, error in ends]}
        parts = _parts(as_blocks(batch))
        # A batch too big for one request: its first parts are stored ahead of the ends (points
        # are first-wins, so a failure after them leaves nothing a retry would store twice).
        for part in parts[:-1]:
            self._send_points(f"{API}/metrics", {}, part)
        self._send_points(f"{API}/runs-end", meta, parts[-1] if parts else [])

    def set_run_status(self, run_id: str, status: RunStatus) -> None:
        self._t.call("POST", f"{self._run(run_id)}/status", {"status": RunStatus(status).value})

    def count_runs(self, experiment_id: int | None = None) -> int:
        params = {"experiment_id": str(int(experiment_id))} if experiment_id is not None else None
        return int(self._t.call("GET", f"{API}/runs/count", params=params)["count"])

    @paused_gc()
    def runs_with_tag(self, key: str, value: str | None = None) -> list[Run]:
        return [run_from(d) for d in self._t.call("POST", f"{API}/runs/with-tag", {"key": key, "value": value})]

    def search_runs(
        self,
        experiment_ids: Sequence[int],
        filter_text: str | None,
        order_by: Sequence[str],
        max_results: int,
        parent_run_id: str | None = None,
        lifecycle: str = "active",
    ) -> list[Run]:
        body = {
            "experiment_ids": [int(i) for i in experiment_ids],
            "filter": filter_text,
            "order_by": list(order_by),
            "max_results": max_results,
            "parent_run_id": parent_run_id,
        }
        if lifecycle != "active":  # only then: a server older than soft deletion still answers searches
            body["lifecycle"] = lifecycle
        return [run_from(d) for d in self._t.call("POST", f"{API}/runs/search", body)]

    # -- params and tags ------------------------------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        if params:
            self._t.call("POST", f"{self._run(run_id)}/params", {"params": dict(params)})

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        if tags:
            self._t.call("POST", f"{self._run(run_id)}/tags", {"tags": dict(tags)})

    def delete_tag(self, run_id: str, key: str) -> None:
        self._t.call("POST", f"{self._run(run_id)}/tags/delete", {"key": key})

    # -- lifecycle (routes in tracking.server.lifecycle) ----------------------------------
    # Not idempotent: a retry after a lost answer would find the run deleted already and say so.

    def delete_run(self, run_id: str) -> list[str]:
        return list(self._t.call("POST", f"{self._run(run_id)}/delete", {}, idempotent=False)["run_ids"])

    def restore_run(self, run_id: str) -> list[str]:
        return list(self._t.call("POST", f"{self._run(run_id)}/restore", {}, idempotent=False)["run_ids"])

    def delete_experiment(self, experiment_id: int) -> int:
        path = f"{API}/experiments/{int(experiment_id)}/delete"
        return int(self._t.call("POST", path, {}, idempotent=False)["runs"])

    def restore_experiment(self, experiment_id: int) -> int:
        path = f"{API}/experiments/{int(experiment_id)}/restore"
        return int(self._t.call("POST", path, {}, idempotent=False)["runs"])

    def set_run_name(self, run_id: str, name: str) -> None:
        self._t.call("POST", f"{self._run(run_id)}/name", {"name": name})

    # -- metrics --------------------------------------------------------------------------

    def _send_points(self, path: str, meta: Mapping[str, object], blocks: Sequence[PointBlock]) -> None:
        self._t.send("POST", path, encode_frame(meta, blocks), headers={"Content-Type": POINTS_TYPE})

    def write_metric_points(self, batch: PointBatch) -> None:
        """One request per batch (a batch past `MAX_FRAME_BYTES` in several: first-wins makes
        each part, and a retry of any, safe to store on its own)."""
        for part in _parts(as_blocks(batch)):
            self._send_points(f"{API}/metrics", {}, part)

    @paused_gc()
    def metric_histories(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[str, dict[str, list[Metric]]]:
        if not run_ids or not keys:
            return {}
        body = {"run_ids": list(run_ids), "keys": list(keys)}
        answer = self._t.send("POST", f"{API}/metrics/histories", dumps(body), headers={"Content-Type": JSON_TYPE})
        _, blocks = decode_frame(answer.content)
        return blocks_to_histories(blocks)

    def reserve_steps(self, run_id: str, wanted: Mapping[str, tuple[int, int]]) -> dict[str, int]:
        # Not idempotent: a retry after a lost answer reserves second blocks, and the first ones
        # stay unused (a gap in the steps, never a step given twice).
        body = {"keys": {k: [a, n] for k, (a, n) in wanted.items()}}
        found = self._t.call("POST", f"{self._run(run_id)}/step-blocks", body)
        if not isinstance(found, dict) or not all(isinstance(found.get(k), int) for k in wanted):
            raise StoreError(f"the server {self.uri} answered step-blocks with {found!r:.80}")
        return {k: int(found[k]) for k in wanted}

    def release_steps(self, run_id: str, unused: Mapping[str, tuple[int, int]]) -> None:
        body = {"keys": {k: [e, u] for k, (e, u) in unused.items()}}
        self._t.call("POST", f"{self._run(run_id)}/step-blocks/release", body)

    def next_steps(self, run_id: str, keys: Iterable[str]) -> dict[str, int]:
        wanted = list(keys)
        if not wanted:
            return {}
        found = self._t.call("POST", f"{self._run(run_id)}/next-steps", {"keys": wanted})
        if not isinstance(found, dict):
            raise StoreError(f"the server {self.uri} answered next-steps with {type(found).__name__}")
        return {k: int(found[k]) for k in wanted}

    # -- sweep leases (expiry on the server's clock) ---------------------------------------

    def acquire_lease(self, sweep_run_id: str, owner: str, host: str, pid: int, ttl_s: float) -> Lease:
        # Idempotent: a retry after a lost answer finds this owner's lease and renews it.
        body = {"owner": owner, "host": host, "pid": pid, "ttl_s": ttl_s}
        return lease_from(self._t.call("POST", f"{self._run(sweep_run_id)}/lease", body))

    def renew_lease(self, sweep_run_id: str, owner: str, ttl_s: float) -> Lease:
        body = {"owner": owner, "ttl_s": ttl_s}
        return lease_from(self._t.call("POST", f"{self._run(sweep_run_id)}/lease/renew", body))

    def release_lease(self, sweep_run_id: str, owner: str) -> None:
        self._t.call("POST", f"{self._run(sweep_run_id)}/lease/release", {"owner": owner})

    def get_lease(self, sweep_run_id: str) -> Lease | None:
        found = self._t.call("GET", f"{self._run(sweep_run_id)}/lease")
        return None if found is None else lease_from(found)


def _size(block: PointBlock) -> int:
    return len(block) * (24 + block.key_index.dtype.itemsize) + sum(len(k) + 4 for k in block.keys) + 64


def _parts(blocks: Sequence[PointBlock]) -> list[list[PointBlock]]:
    """``blocks`` in request-sized groups, in order; a block bigger than a request is sliced."""
    limit = MAX_FRAME_BYTES
    parts: list[list[PointBlock]] = []
    current: list[PointBlock] = []
    used = 0
    for block in blocks:
        step = max(1, len(block) * limit // max(_size(block), 1))
        pieces = [block] if _size(block) <= limit else [block.slice(i, i + step) for i in range(0, len(block), step)]
        for piece in pieces:
            size = _size(piece)
            if current and used + size > limit:
                parts.append(current)
                current, used = [], 0
            current.append(piece)
            used += size
    if current:
        parts.append(current)
    return parts
