"""Metric routes: point frames in (checked at this trust boundary, written synchronously: a 200 means
stored), runs ended with their last points, histories, next steps and step blocks out."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from tracking.auth.base import Role
from tracking.limits import AUTO_STEP_BLOCK
from tracking.point_block import PointBlock
from tracking.server import fields as f
from tracking.server.context import Call, Server, endpoint
from tracking.server.runs import _status
from tracking.store.base import RunEnd
from tracking.validation import INT64_MAX, check_key
from tracking.wire import API, POINTS_TYPE, WireError, decode_frame, encode_frame, histories_to_blocks

MAX_KEYS_PER_CALL = 10_000  # keys of one step-blocks call


def _checked_blocks(server: Server, call: Call) -> tuple[dict, list[PointBlock]]:
    meta, blocks = decode_frame(call.body)
    checked = [block.check() for block in blocks]
    for run_id in {b.run_id for b in checked}:
        server.experiment_of(f.run_ref(run_id))  # an unknown run is a 404, not a foreign-key failure (cached)
        server.need_run(call.principal, run_id, Role.EDIT)
    return meta, [b for b in checked if len(b)]


def write_points(server: Server, call: Call) -> object:
    _, blocks = _checked_blocks(server, call)
    server.store.write_metric_points(blocks)  # first-wins: a retried frame stores nothing twice
    return {"points": sum(len(b) for b in blocks)}


def _ends(meta: dict) -> list[RunEnd]:
    raw = meta.get("ends")
    if not isinstance(raw, list):
        raise WireError("an end-runs frame needs 'ends': a list of [run_id, status, error]")
    out: list[RunEnd] = []
    for item in raw:
        if not isinstance(item, list) or len(item) != 3:
            raise WireError("each end must be [run_id, status, error]")
        entry = {"run_id": item[0], "status": item[1], "error": item[2]}
        out.append((f.run_ref(f.text(entry, "run_id")), _status(f.text(entry, "status")), f.opt_text(entry, "error")))
    return out


def end_runs(server: Server, call: Call) -> object:
    meta, blocks = _checked_blocks(server, call)
    ends = _ends(meta)
    for run_id in {run_id for run_id, _, _ in ends}:
        server.need_run(call.principal, run_id, Role.EDIT)
    server.store.end_runs(ends, blocks)
    return {}


def histories(server: Server, call: Call) -> object:
    body = call.json()
    run_ids = f.run_refs(f.text_list(body, "run_ids"))
    keys = [check_key("metric", k) for k in f.text_list(body, "keys")]
    readable = server.readable(call.principal)
    if readable is not None:  # runs the caller cannot read are absent, as unknown ones are
        run_ids = [r.run_id for r in server.store.get_runs(run_ids) if r.experiment_id in readable]
    found = server.store.metric_histories(run_ids, keys) if run_ids and keys else {}
    return Response(encode_frame({}, histories_to_blocks(found)), media_type=POINTS_TYPE)


def next_steps(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.READ)
    keys = [check_key("metric", k) for k in f.text_list(call.json(), "keys")]
    return server.store.next_steps(run_id, keys)


def _step_pairs(body: object, first: str, second: str) -> dict[str, tuple[int, int]]:
    """``{"keys": {key: [a, b]}}`` checked: metric keys, 64-bit integers ``0 <= a``, ``a``/``b`` as named."""
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, dict) or not 1 <= len(keys) <= MAX_KEYS_PER_CALL:
        raise WireError(f"step-blocks: 'keys' must map 1..{MAX_KEYS_PER_CALL} metric keys to [{first}, {second}]")
    pairs = {}
    for key, pair in keys.items():
        ok = isinstance(pair, list) and len(pair) == 2 and all(type(v) is int and 0 <= v <= INT64_MAX for v in pair)
        if not ok:
            raise WireError(f"step-blocks: keys[{key!r:.60}] must be [{first}, {second}], two integers >= 0")
        pairs[check_key("metric", key)] = (pair[0], pair[1])
    return pairs


def step_blocks(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.EDIT)
    wanted = _step_pairs(call.json(), "at_least", "count")
    if any(not 1 <= n <= AUTO_STEP_BLOCK for _, n in wanted.values()):
        raise WireError(f"step-blocks: a count must be 1..{AUTO_STEP_BLOCK}")
    return server.store.reserve_steps(run_id, wanted)


def release_step_blocks(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.EDIT)
    server.store.release_steps(run_id, _step_pairs(call.json(), "end", "used"))
    return {}


def routes(server: Server) -> list[Route]:
    return [
        Route(f"{API}/metrics", endpoint(server, write_points), methods=["POST"]),
        Route(f"{API}/metrics/histories", endpoint(server, histories), methods=["POST"]),
        Route(f"{API}/runs-end", endpoint(server, end_runs), methods=["POST"]),
        Route(f"{API}/runs/{{run_id}}/next-steps", endpoint(server, next_steps), methods=["POST"]),
        Route(f"{API}/runs/{{run_id}}/step-blocks", endpoint(server, step_blocks), methods=["POST"]),
        Route(f"{API}/runs/{{run_id}}/step-blocks/release", endpoint(server, release_step_blocks), methods=["POST"]),
    ]
