"""The server's wire format, one home for both sides: JSON records, binary point frames, the error table.

Records travel as JSON with explicit encode/decode functions per entity (no pickle); metric
points travel as frames of `PointBlock` columns (raw little-endian arrays), never as JSON per
point. Every `TrackingError` maps to one error code and HTTP status, and back.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tracking.artifacts import ArtifactInfo
from tracking.entities import Experiment, Lease, Metric, MetricPoint, MetricSummary, Run, RunStatus
from tracking.errors import (
    ExperimentNotFound,
    FilterError,
    ImportConflict,
    InvalidArtifactPath,
    InvalidParameter,
    InvalidURI,
    LifecycleError,
    ModelError,
    ModelIntegrityError,
    ModelNotFound,
    NotFound,
    ParamConflict,
    PermissionDenied,
    RegistryError,
    RunDeleted,
    RunExists,
    RunFinished,
    RunInUse,
    RunNotFound,
    SchemaVersionError,
    SignatureError,
    StoreError,
    StoreUnavailable,
    SweepLeased,
    TrackingError,
    Unauthenticated,
)
from tracking.point_block import F8, I8, PointBlock, blocks_from_points, readonly
from tracking.registry.entities import AuditEntry, ModelVersion, PromotionDecision, RegisteredModel, Stage

POINTS_TYPE = "application/x-sweeps-points"
JSON_TYPE = "application/json"
API = "/api/v1"

# -- errors ---------------------------------------------------------------------------------


class WireError(InvalidParameter):
    """A request or response body that is not what the wire format says (HTTP 400)."""


class BodyTooLarge(InvalidParameter):
    """A request body over the server's limit (HTTP 413)."""


class ArtifactMissing(FileNotFoundError):
    """No artifact at that name: the same `FileNotFoundError` a local artifact folder raises."""


# Most specific first: an exception takes the first row whose class it is an instance of.
ERRORS: tuple[tuple[type[BaseException], str, int], ...] = (
    (BodyTooLarge, "body_too_large", 413),
    (WireError, "malformed_request", 400),
    (Unauthenticated, "unauthenticated", 401),
    (PermissionDenied, "permission_denied", 403),
    (RunNotFound, "run_not_found", 404),
    (ExperimentNotFound, "experiment_not_found", 404),
    (ModelNotFound, "model_not_found", 404),
    (ArtifactMissing, "artifact_not_found", 404),
    (FileNotFoundError, "artifact_not_found", 404),
    (NotFound, "not_found", 404),
    (RunExists, "run_exists", 409),
    (ParamConflict, "param_conflict", 409),
    (RunFinished, "run_finished", 409),
    (SweepLeased, "sweep_leased", 409),
    (ImportConflict, "import_conflict", 409),
    (RunDeleted, "run_deleted", 409),
    (RunInUse, "run_in_use", 409),
    (LifecycleError, "lifecycle_conflict", 409),
    (InvalidArtifactPath, "invalid_artifact_path", 400),
    (FilterError, "filter_error", 400),
    (InvalidURI, "invalid_uri", 400),
    (InvalidParameter, "invalid_parameter", 400),
    (ModelIntegrityError, "model_integrity", 409),
    (SignatureError, "signature_error", 400),
    (ModelError, "model_error", 400),
    (RegistryError, "registry_error", 409),
    (StoreUnavailable, "store_unavailable", 503),
    (SchemaVersionError, "schema_version", 503),
    (StoreError, "store_error", 500),
    (TrackingError, "tracking_error", 500),
)
_BY_CODE: dict[str, type[BaseException]] = {}
for _cls, _code, _status in ERRORS:
    _BY_CODE.setdefault(_code, _cls)
_BY_CODE["artifact_not_found"] = ArtifactMissing


def error_code(exc: BaseException) -> tuple[str, int]:
    """The (code, HTTP status) of an exception the server answers with; unknown ones are 500."""
    for cls, code, status in ERRORS:
        if isinstance(exc, cls):
            return code, status
    return "internal_error", 500


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def raise_error(status: int, body: bytes, where: str) -> None:
    """Raise the `TrackingError` (or `FileNotFoundError`) a server's error answer stands for."""
    try:
        err = json.loads(body)["error"]
        code, message = str(err["code"]), str(err["message"])
    except (ValueError, KeyError, TypeError):
        text = body[:200].decode("utf-8", "replace").strip()
        if status in (502, 503, 504):
            raise StoreUnavailable(f"the server {where} answered HTTP {status}: {text or 'no details'}") from None
        raise StoreError(f"the server {where} answered HTTP {status}: {text or 'no details'}") from None
    cls = _BY_CODE.get(code)
    if cls is None:  # a code of a newer server, or a proxy's
        cls = StoreUnavailable if status in (502, 503, 504) else StoreError
    if cls is FilterError:
        raise FilterError(message)  # already holds the position and pointer
    raise cls(message)


# -- numbers ----------------------------------------------------------------------------------


def num(x: float | None) -> float | str | None:
    """A float JSON can carry: NaN and ±inf as strings (standard JSON has no literal for them)."""
    if x is None or math.isfinite(x):
        return x
    return "NaN" if x != x else ("Infinity" if x > 0 else "-Infinity")


_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def unnum(x: object) -> float:
    if isinstance(x, str) and x in _SPECIAL:
        return _SPECIAL[x]
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise WireError(f"expected a number, got {x!r}")
    return float(x)


def _opt_unnum(x: object) -> float | None:
    return None if x is None else unnum(x)


def dumps(obj: object) -> bytes:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()


def loads(body: bytes) -> Any:
    """JSON of a body; `WireError` for anything that does not parse (bad UTF-8 included)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"request body is not valid JSON: {exc}") from None


# -- records ------------------------------------------------------------------------------------


def experiment_to(e: Experiment) -> dict:
    return {
        "id": e.experiment_id,
        "name": e.name,
        "artifact_location": e.artifact_location,
        "created_at": e.created_at,
        "deleted_at": e.deleted_at,
    }


def experiment_from(d: Mapping) -> Experiment:
    deleted = d.get("deleted_at")  # absent from a server older than soft deletion
    return Experiment(
        int(d["id"]), str(d["name"]), str(d["artifact_location"]), int(d["created_at"]), _opt_int(deleted)
    )


def _opt_int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _summary_to(s: MetricSummary) -> list:
    return [num(s.last), s.last_step, s.last_timestamp, num(s.min), s.min_step, num(s.max), s.max_step]


def _summary_from(key: str, v: Sequence) -> MetricSummary:
    return MetricSummary(key, unnum(v[0]), int(v[1]), int(v[2]), unnum(v[3]), int(v[4]), unnum(v[5]), int(v[6]))


def run_to(r: Run) -> dict:
    return {
        "run_id": r.run_id,
        "experiment_id": r.experiment_id,
        "name": r.name,
        "status": r.status.value,
        "start_time": r.start_time,
        "end_time": r.end_time,
        "parent_run_id": r.parent_run_id,
        "artifact_uri": r.artifact_uri,
        "error": r.error,
        "user": r.user,
        "params": dict(r.params),
        "tags": dict(r.tags),
        "metrics": {k: _summary_to(s) for k, s in r.metrics.items()},
        "deleted_at": r.deleted_at,
    }


def run_from(d: Mapping) -> Run:
    return Run(
        run_id=d["run_id"],
        experiment_id=int(d["experiment_id"]),
        name=d["name"],
        status=RunStatus(d["status"]),
        start_time=int(d["start_time"]),
        end_time=None if d["end_time"] is None else int(d["end_time"]),
        parent_run_id=d["parent_run_id"],
        artifact_uri=d["artifact_uri"],
        error=d["error"],
        user=d["user"],
        params=dict(d["params"]),
        tags=dict(d["tags"]),
        metrics={k: _summary_from(k, v) for k, v in d["metrics"].items()},
        deleted_at=_opt_int(d.get("deleted_at")),
    )


def lease_to(lease: Lease) -> dict:
    return {
        "sweep_run_id": lease.sweep_run_id,
        "owner": lease.owner,
        "host": lease.host,
        "pid": lease.pid,
        "acquired_at": lease.acquired_at,
        "heartbeat_at": lease.heartbeat_at,
        "expires_at": lease.expires_at,
        "expires_in_s": lease.expires_in_s,
    }


def lease_from(d: Mapping) -> Lease:
    return Lease(
        sweep_run_id=str(d["sweep_run_id"]),
        owner=str(d["owner"]),
        host=str(d["host"]),
        pid=int(d["pid"]),
        acquired_at=int(d["acquired_at"]),
        heartbeat_at=int(d["heartbeat_at"]),
        expires_at=int(d["expires_at"]),
        expires_in_s=float(d["expires_in_s"]),
    )


def artifact_info_to(a: ArtifactInfo) -> dict:
    return {"path": a.path, "is_dir": a.is_dir, "size": a.size}


def artifact_info_from(d: Mapping) -> ArtifactInfo:
    return ArtifactInfo(str(d["path"]), bool(d["is_dir"]), None if d["size"] is None else int(d["size"]))


def model_to(m: RegisteredModel) -> dict:
    return {
        "name": m.name,
        "description": m.description,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "latest_version": m.latest_version,
        "tags": dict(m.tags),
        "aliases": dict(m.aliases),
    }


def model_from(d: Mapping) -> RegisteredModel:
    return RegisteredModel(
        d["name"],
        d["description"],
        int(d["created_at"]),
        int(d["updated_at"]),
        d["latest_version"],
        dict(d["tags"]),
        {k: int(v) for k, v in d["aliases"].items()},
    )


def version_to(v: ModelVersion) -> dict:
    return {
        "name": v.name,
        "version": v.version,
        "run_id": v.run_id,
        "source": v.source,
        "stage": v.stage.value,
        "description": v.description,
        "created_at": v.created_at,
        "updated_at": v.updated_at,
        "tags": dict(v.tags),
        "aliases": list(v.aliases),
    }


def version_from(d: Mapping) -> ModelVersion:
    return ModelVersion(
        d["name"],
        int(d["version"]),
        d["run_id"],
        d["source"],
        Stage(d["stage"]),
        d["description"],
        int(d["created_at"]),
        int(d["updated_at"]),
        dict(d["tags"]),
        tuple(d["aliases"]),
    )


def audit_to(a: AuditEntry) -> dict:
    return {
        "id": a.id,
        "name": a.name,
        "version": a.version,
        "action": a.action,
        "subject": a.subject,
        "from": a.from_value,
        "to": a.to_value,
        "at": a.at,
        "actor": a.actor,
        "reason": a.reason,
    }


def audit_from(d: Mapping) -> AuditEntry:
    return AuditEntry(
        int(d["id"]),
        d["name"],
        d["version"],
        d["action"],
        d["subject"],
        d["from"],
        d["to"],
        int(d["at"]),
        d["actor"],
        d["reason"],
    )


def decision_to(p: PromotionDecision) -> dict:
    return {
        "name": p.name,
        "metric": p.metric,
        "goal": p.goal,
        "promoted": p.promoted,
        "champion_before": p.champion_before,
        "champion_after": p.champion_after,
        "challenger_version": p.challenger_version,
        "champion_value": num(p.champion_value),
        "challenger_value": num(p.challenger_value),
        "min_delta": num(p.min_delta),
        "reason": p.reason,
        "evaluated_on": p.evaluated_on,
    }


def decision_from(d: Mapping) -> PromotionDecision:
    return PromotionDecision(
        name=d["name"],
        metric=d["metric"],
        goal=d["goal"],
        promoted=bool(d["promoted"]),
        champion_before=d["champion_before"],
        champion_after=d["champion_after"],
        challenger_version=int(d["challenger_version"]),
        champion_value=_opt_unnum(d["champion_value"]),
        challenger_value=_opt_unnum(d["challenger_value"]),
        min_delta=unnum(d["min_delta"]),
        reason=d["reason"],
        evaluated_on=d["evaluated_on"],
    )


# -- point frames ---------------------------------------------------------------------------------
#
# A frame: MAGIC, u32 length + JSON meta, u32 block count, then per block: u32 length + JSON
# header {"run": id, "keys": [...], "n": points, "k": key-index dtype}, then the key index,
# steps (<i8), values (<f8) and timestamps (<i8) as raw bytes. Lengths are little-endian.

MAGIC = b"SWPF\x01"
_U32 = struct.Struct("<I")
_KEY_DTYPES = {"|u1": np.dtype("u1"), "<u2": np.dtype("<u2"), "<u4": np.dtype("<u4")}


def as_blocks(batch: Iterable[MetricPoint | PointBlock]) -> list[PointBlock]:
    """A batch of loose points and blocks as blocks, keeping arrival order per run."""
    out: list[PointBlock] = []
    loose: list[MetricPoint] = []
    for item in batch:
        if isinstance(item, PointBlock):
            if loose:
                out.extend(blocks_from_points(loose))
                loose = []
            out.append(item)
        else:
            loose.append(item)
    if loose:
        out.extend(blocks_from_points(loose))
    return out


def _key_index(block: PointBlock) -> np.ndarray:
    kidx = block.key_index
    if kidx.dtype.str in _KEY_DTYPES:
        return kidx
    return np.asarray(kidx, dtype="<u4")


def encode_frame(meta: Mapping[str, object], blocks: Sequence[PointBlock]) -> bytes:
    """One body holding ``meta`` (JSON) and ``blocks`` (raw columns)."""
    meta_bytes = dumps(dict(meta))
    parts = [MAGIC, _U32.pack(len(meta_bytes)), meta_bytes, _U32.pack(len(blocks))]
    for block in blocks:
        kidx = _key_index(block)
        header = dumps({"run": block.run_id, "keys": list(block.keys), "n": len(block), "k": kidx.dtype.str})
        parts += [
            _U32.pack(len(header)),
            header,
            np.ascontiguousarray(kidx).tobytes(),
            np.ascontiguousarray(block.steps, I8).tobytes(),
            np.ascontiguousarray(block.values, F8).tobytes(),
            np.ascontiguousarray(block.timestamps, I8).tobytes(),
        ]
    return b"".join(parts)


class _Reader:
    def __init__(self, body: bytes) -> None:
        self.body = memoryview(body)
        self.at = 0

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.at + n > len(self.body):
            raise WireError(f"points frame is truncated: {what} needs {n} bytes at offset {self.at}")
        out = self.body[self.at : self.at + n]
        self.at += n
        return out

    def u32(self, what: str) -> int:
        return _U32.unpack(self.take(4, what))[0]

    def json(self, what: str) -> Any:
        return loads(bytes(self.take(self.u32(what), what)))


def decode_frame(body: bytes) -> tuple[dict, list[PointBlock]]:
    """The meta and blocks of a frame, each block not yet checked; `WireError` when malformed."""
    reader = _Reader(body)
    if bytes(reader.take(len(MAGIC), "the magic bytes")) != MAGIC:
        raise WireError(f"body is not a points frame ({POINTS_TYPE} starts with {MAGIC!r})")
    meta = reader.json("the meta")
    if not isinstance(meta, dict):
        raise WireError("points frame: the meta must be a JSON object")
    count = reader.u32("the block count")
    blocks = []
    for i in range(count):
        header = reader.json(f"block {i}'s header")
        try:
            run_id, keys, n, kdtype = header["run"], header["keys"], header["n"], _KEY_DTYPES[header["k"]]
        except (KeyError, TypeError):
            raise WireError(f"points frame: block {i}'s header needs run, keys, n and k (|u1, <u2 or <u4)") from None
        if not isinstance(run_id, str) or not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise WireError(f"points frame: block {i} needs a text run id and a list of text keys")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise WireError(f"points frame: block {i} has a bad point count {n!r}")
        kidx = np.frombuffer(reader.take(n * kdtype.itemsize, f"block {i}'s key index"), kdtype)
        steps = np.frombuffer(reader.take(8 * n, f"block {i}'s steps"), I8)
        values = np.frombuffer(reader.take(8 * n, f"block {i}'s values"), F8)
        stamps = np.frombuffer(reader.take(8 * n, f"block {i}'s timestamps"), I8)
        blocks.append(PointBlock(run_id, tuple(keys), readonly(kidx), steps, values, stamps))
    if reader.at != len(reader.body):
        raise WireError(f"points frame has {len(reader.body) - reader.at} bytes after its last block")
    return meta, blocks


def histories_to_blocks(histories: Mapping[str, Mapping[str, Sequence[Metric]]]) -> list[PointBlock]:
    """``{run: {key: [Metric]}}`` as one block per run (a history read travels as columns too)."""
    out = []
    for run_id, by_key in histories.items():
        keys = tuple(by_key)
        metrics = [(i, m) for i, key in enumerate(keys) for m in by_key[key]]
        out.append(
            PointBlock(
                run_id,
                keys,
                np.array([i for i, _ in metrics], dtype="<u4"),
                np.array([m.step for _, m in metrics], dtype=I8),
                np.array([m.value for _, m in metrics], dtype=F8),
                np.array([m.timestamp for _, m in metrics], dtype=I8),
            )
        )
    return out


def blocks_to_histories(blocks: Sequence[PointBlock]) -> dict[str, dict[str, list[Metric]]]:
    out: dict[str, dict[str, list[Metric]]] = {}
    for block in blocks:
        by_key = out.setdefault(block.run_id, {})
        keys = block.keys
        columns = (block.key_index.tolist(), block.steps.tolist(), block.values.tolist(), block.timestamps.tolist())
        for k, step, value, ts in zip(*columns, strict=True):
            by_key.setdefault(keys[k], []).append(Metric(keys[k], value, step, ts))
    return out
