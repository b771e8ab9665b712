"""Exceptions to JSON error answers: a 4xx naming what was wrong, never a traceback, SQL or secret."""

from __future__ import annotations

import logging
import traceback
import uuid

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tracking.errors import StoreError
from tracking.uri import mask_password
from tracking.wire import JSON_TYPE, error_body, error_code

log = logging.getLogger("tracking.server")


def error_response(exc: BaseException) -> Response:
    """The JSON answer for ``exc``: its code, status and message; unknown ones a generic 500."""
    code, status = error_code(exc)
    if code == "internal_error":
        # The details stay in the server's log (passwords masked); the client gets an id to quote.
        incident = uuid.uuid4().hex[:12]
        log.error("internal error %s:\n%s", incident, mask_password("".join(traceback.format_exception(exc))))
        message = f"internal server error (incident {incident} in the server's log)"
    elif isinstance(exc, FileNotFoundError):
        # An OSError of the file system names the server's path: say only what is missing.
        message = str(exc) if exc.errno is None and exc.args else "no such artifact"
    else:
        message = mask_password(str(exc))
        if isinstance(exc, StoreError):
            log.warning("store error answered with HTTP %s: %s", status, message)
    return Response(error_body(code, message), status_code=status, media_type=JSON_TYPE)


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (unknown route, wrong method) in the same JSON shape."""
    assert isinstance(exc, HTTPException)
    code = {404: "no_such_route", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return Response(error_body(code, message), status_code=exc.status_code, media_type=JSON_TYPE)


async def unexpected(request: Request, exc: Exception) -> Response:
    return error_response(exc)
