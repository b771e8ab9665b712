"""Artifact routes: uploads streamed to disk and downloads streamed out in chunks (memory stays
bounded for any size); every name goes through `safe_name` here, whatever the client checked."""

from __future__ import annotations

import posixpath
import tempfile
from collections.abc import Iterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tracking.artifacts import Artifacts, ArtifactStore, safe_name
from tracking.auth.base import Principal, Role
from tracking.entities import Run
from tracking.errors import RunDeleted
from tracking.server import fields as f
from tracking.server.context import Call, Server, authenticate, endpoint
from tracking.server.errors import error_response
from tracking.server.limits import stream
from tracking.wire import API, JSON_TYPE, ArtifactMissing, artifact_info_to, dumps

CHUNK = 1024 * 1024


def _run(server: Server, principal: Principal, run_id: str, need: Role) -> Run:
    server.need_run(principal, run_id, need)
    return server.store.get_run(run_id)


def _files(artifacts: Artifacts) -> ArtifactStore:
    if not isinstance(artifacts, ArtifactStore):  # a server's own store is a SQL store
        raise TypeError(f"the server streams artifacts of an ArtifactStore, not {type(artifacts).__name__}")
    return artifacts


def list_artifacts(server: Server, call: Call) -> object:
    run = _run(server, call.principal, f.run_ref(call.path["run_id"]), Role.READ)
    path = call.query.get("path") or None
    return [artifact_info_to(a) for a in server.store.artifacts(run).list(path)]


def artifact_tree(server: Server, call: Call) -> object:
    """Whether ``path`` (None: the whole folder) is a file or a folder, and a folder's files."""
    run = _run(server, call.principal, f.run_ref(call.path["run_id"]), Role.READ)
    store = _files(server.store.artifacts(run))
    path = call.query.get("path") or None
    source = f"{store.root}/{safe_name(path)}" if path else store.root
    if not store.fs.exists(source):
        raise ArtifactMissing(f"no artifact {path!r} in run {run.run_id}")
    if not store.fs.isdir(source):
        return {"kind": "file", "files": []}
    return {"kind": "dir", "files": [posixpath.relpath(p, source) for p in store.fs.find(source)]}


def download(server: Server, call: Call) -> object:
    run = _run(server, call.principal, f.run_ref(call.path["run_id"]), Role.READ)
    store = _files(server.store.artifacts(run))
    name = safe_name(call.path["name"])
    path = f"{store.root}/{name}"
    if not store.fs.exists(path) or store.fs.isdir(path):
        raise ArtifactMissing(f"no artifact file {name!r} in run {run.run_id}")
    handle = store.fs.open(path, "rb")

    def chunks() -> Iterator[bytes]:
        with handle as fh:
            while block := fh.read(CHUNK):
                yield block

    return StreamingResponse(chunks(), media_type="application/octet-stream")


def upload_endpoint(server: Server):  # type: ignore[no-untyped-def]
    """PUT of one file: the body goes to a temporary file in chunks, then into the run's folder."""

    async def upload(request: Request) -> Response:
        try:
            principal = await authenticate(server, request)
            name = safe_name(request.path_params["name"])
            run = await run_in_threadpool(_run, server, principal, f.run_ref(request.path_params["run_id"]), Role.EDIT)
            if run.deleted:  # as the client's own check: a deleted run takes no artifacts
                raise RunDeleted.of(run.run_id)
            artifacts = server.store.artifacts(run)
            with tempfile.NamedTemporaryFile(prefix="sweeps-upload-") as tmp:
                async for chunk in stream(request, server.max_artifact_bytes):
                    tmp.write(chunk)
                tmp.flush()
                stored = await run_in_threadpool(artifacts.put_file, tmp.name, name)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read an answer
        except Exception as exc:
            return error_response(exc)
        return Response(dumps({"path": stored}), media_type=JSON_TYPE)

    return upload


def routes(server: Server) -> list[Route]:
    base = f"{API}/runs/{{run_id}}"
    return [
        Route(f"{base}/artifacts", endpoint(server, list_artifacts), methods=["GET"]),
        Route(f"{base}/artifact-tree", endpoint(server, artifact_tree), methods=["GET"]),
        Route(f"{base}/artifacts/{{name:path}}", endpoint(server, download), methods=["GET"]),
        Route(f"{base}/artifacts/{{name:path}}", upload_endpoint(server), methods=["PUT"]),
    ]
