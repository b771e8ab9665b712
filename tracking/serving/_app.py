"""The scoring app: ``POST /invocations`` in MLflow's protocol, ``GET /ping``, ``GET /version``."""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracking.errors import InvalidParameter, SignatureError
from tracking.serving._batcher import Batcher, batchable, predict_one
from tracking.serving._errors import BodyTooLarge, PredictionFailed, ScoringInputError, UnsupportedContentType
from tracking.serving._follower import ModelFollower, ServedModel
from tracking.serving._input import parse_body
from tracking.serving._output import predictions_body

log = logging.getLogger("tracking.serving")

DEFAULT_MAX_BODY = 64 * 1024 * 1024
INLINE_BYTES = 16 * 1024
_STATUS = (  # most specific first
    (BodyTooLarge, 413, "REQUEST_TOO_LARGE"),
    (UnsupportedContentType, 415, "UNSUPPORTED_MEDIA_TYPE"),
    (SignatureError, 400, "BAD_REQUEST"),
    (ScoringInputError, 400, "BAD_REQUEST"),
    (PredictionFailed, 400, "BAD_REQUEST"),
    (InvalidParameter, 400, "BAD_REQUEST"),
)


def error_response(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error_code": code, "message": message}, status_code=status)


def version_headers(served: ServedModel) -> dict[str, str]:
    """Which model answered: a client counting versions across a swap reads these."""
    headers = {"X-Model-Sha256": served.sha256}
    if served.name is not None:
        headers["X-Model-Name"] = served.name
    if served.version is not None:
        headers["X-Model-Version"] = str(served.version)
    return headers


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) once it passes ``limit``: by its Content-Length, or while it streams."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body of {declared} bytes is over this server's limit of {limit} bytes")
    chunks: list[bytes] = []
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise BodyTooLarge(f"request body is over this server's limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def prepare(served: ServedModel, body: bytes, content_type: str | None) -> object:
    """The body parsed and checked against the signature (SignatureError carries the signature's message)."""
    model = served.model
    return model.prepare(parse_body(body, content_type, model.signature.inputs if model.signature else None))


def build_scoring_app(follower: ModelFollower, *, max_body_bytes: int = DEFAULT_MAX_BODY) -> Starlette:
    """The scoring API over ``follower``'s current model (the follower is started by the caller)."""

    async def ping(request: Request) -> Response:
        if not follower.ready:
            return Response("no model loaded\n", status_code=503, media_type="text/plain")
        return Response("\n", media_type="text/plain")

    async def version(request: Request) -> Response:
        return JSONResponse(follower.status())

    current: list[Batcher] = []  # the batcher of the model serving now; a swap starts a new one

    def batcher_for(served: ServedModel) -> Batcher:
        if not current or current[0].served is not served:
            current[:] = [Batcher(served)]
        return current[0]

    async def invocations(request: Request) -> Response:
        if not follower.ready:
            return error_response(503, "UNAVAILABLE", f"no model is loaded yet for {follower.uri}")
        served = follower.current  # read once: this request runs on this model even if a swap follows
        try:
            body = await read_body(request, max_body_bytes)
            content_type = request.headers.get("content-type")
            # Small bodies parse faster than a hop to a worker thread; large ones must not block the loop.
            small = len(body) <= INLINE_BYTES
            data = (
                prepare(served, body, content_type)
                if small
                else await run_in_threadpool(prepare, served, body, content_type)
            )
            if batchable(served):
                predictions = await batcher_for(served).predict(data)
            else:
                predictions = await run_in_threadpool(predict_one, served, data)
            answer = predictions_body(predictions) if small else await run_in_threadpool(predictions_body, predictions)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it
        except (InvalidParameter, SignatureError, PredictionFailed) as exc:
            status, code = next((s, c) for cls, s, c in _STATUS if isinstance(exc, cls))
            return error_response(status, code, str(exc)[:4000])
        return Response(answer, media_type="application/json", headers=version_headers(served))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "BAD_REQUEST")
        return error_response(exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}")

    async def unexpected(request: Request, exc: Exception) -> Response:
        # The details stay in the server's log; the client gets an id to quote.
        incident = uuid.uuid4().hex[:12]
        log.error("internal error %s:\n%s", incident, "".join(traceback.format_exception(exc)))
        return error_response(500, "INTERNAL_ERROR", f"internal server error (incident {incident} in the log)")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        follower.close()

    routes = [
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
    ]
    return Starlette(
        routes=routes, exception_handlers={HTTPException: http_error, Exception: unexpected}, lifespan=lifespan
    )
