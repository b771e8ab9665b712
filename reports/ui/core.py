"""What every UI page and data endpoint shares: the caller (session or open), CSRF, JSON, errors.

Pages are one HTML shell (`templates/page.html`) with the page's data as inert JSON; the
JavaScript of `static/` draws it with ``textContent`` only, so no user string is ever markup.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
import numpy as np
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from reports.errors import ReportError, SweepNotFound
from reports.ui.sessions import COOKIE, Session, SqlSessions, same_token, session_of
from tracking import TrackingClient
from tracking.auth.base import Principal
from tracking.errors import PermissionDenied, TrackingError
from tracking.server.context import Server
from tracking.server.errors import error_response
from tracking.wire import error_code

HERE = Path(__file__).parent
CSRF_HEADER = "x-csrf-token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# regl (plotly's WebGL layer) compiles its shaders' glue with Function(): hence 'unsafe-eval';
# no inline script is ever allowed, which is what keeps a stored payload inert.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class Ui:
    """The UI over one server: its store, authorizer, sessions and a read client for reports."""

    server: Server
    client: TrackingClient
    sessions: SqlSessions | None = None  # in the store; None under ``sweeps ui`` (nobody signs in)
    open_csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    secure_cookies: bool = False
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def auth(self) -> bool:
        return self.server.checks


@dataclass(frozen=True)
class Caller:
    principal: Principal
    csrf: str
    signed_in: bool  # False under ``sweeps ui``: nobody signs in or out


@dataclass(frozen=True)
class Req:
    """One request as a UI handler sees it (handlers run in the threadpool: store calls block)."""

    caller: Caller
    path: Mapping[str, str]
    query: Mapping[str, str]
    body: dict[str, Any]

    @property
    def principal(self) -> Principal:
        return self.caller.principal


@dataclass(frozen=True)
class Page:
    title: str
    script: str  # the page's module under static/
    data: Mapping[str, object]
    charts: bool = True
    crumbs: tuple[tuple[str, str], ...] = ()  # (label, href) above the title


Handler = Callable[[Ui, Req], object]


@cache
def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )


def experiment_href(name: str) -> str:
    return f"/experiments/{quote(name, safe='')}"


def jsonable(value: object) -> object:
    """JSON-safe data: NaN and infinities as the strings JavaScript's Number() reads back."""
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isfinite(number):
            return number
        return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def chart_values(values: np.ndarray) -> list[float | None]:
    """A numeric column for a chart: non-finite values are gaps (plotly cannot place them)."""
    out = np.asarray(values, dtype=float)
    return [v if math.isfinite(v) else None for v in out.tolist()]


def dumps(value: object) -> str:
    return json.dumps(jsonable(value), allow_nan=False, separators=(",", ":"))


def script_json(value: object) -> Markup:
    """JSON inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` can end the element."""
    text = dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def host_allowed(ui: Ui, request: Request) -> bool:
    """Without auth, only a loopback Host header: a DNS-rebound name must not reach the store."""
    if ui.auth:
        return True
    host = urlsplit(f"//{request.headers.get('host') or ''}").hostname or ""
    return host in LOOPBACK_HOSTS


def same_origin(request: Request) -> bool:
    """A state change must come from a page of this server (Origin, when the browser sends it)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request (those always carry Origin on POST)
    return urlsplit(origin).netloc == request.headers.get("host")


async def caller_of(ui: Ui, request: Request) -> Caller | None:
    if not ui.auth:
        return Caller(ui.server.authorizer.authenticate(None), ui.open_csrf, False)
    if ui.sessions is None:
        return None
    # A store read: the session and its token's row, so a revoked token ends its sessions at once.
    session = await run_in_threadpool(session_of, ui.sessions, request.cookies.get(COOKIE))
    if session is None:
        return None
    return Caller(session.principal, session.csrf, True)


def status_of(exc: BaseException) -> int:
    if isinstance(exc, SweepNotFound):
        return 404
    if isinstance(exc, ReportError):
        return 400
    return error_code(exc)[1]


def _message(exc: BaseException) -> str:
    if isinstance(exc, TrackingError | ReportError | PermissionDenied):
        return str(exc)
    return "internal error (see the server's log)"


def error_page(status: int, message: str, caller: Caller | None) -> HTMLResponse:
    title = {404: "Not found", 403: "Not allowed", 401: "Sign in"}.get(status, "Something went wrong")
    page = Page(title, "error.js", {"status": status, "message": message}, charts=False)
    return HTMLResponse(render(page, caller), status_code=status, headers=SECURITY_HEADERS)


def render(page: Page, caller: Caller | None) -> str:
    return (
        templates()
        .get_template("page.html")
        .render(
            page=page,
            data_json=script_json(page.data),
            caller=caller,
            user=caller.principal.user if caller and caller.signed_in else None,
        )
    )


def page_endpoint(ui: Ui, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """An HTML page: sign-in first when auth is on; a store error becomes a page with its status."""

    async def handle(request: Request) -> Response:
        if not host_allowed(ui, request):
            return Response("sweeps ui answers on loopback names only", status_code=400)
        caller = await caller_of(ui, request)
        if caller is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
        try:
            page = await run_in_threadpool(handler, ui, Req(caller, request.path_params, request.query_params, {}))
        except Exception as exc:
            status = status_of(exc)
            if status >= 500:
                error_response(exc)  # logs it with an incident id
            return error_page(status, _message(exc), caller)
        assert isinstance(page, Page)
        return HTMLResponse(render(page, caller), headers=SECURITY_HEADERS)

    return handle


def data_endpoint(ui: Ui, handler: Handler, *, action: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """A JSON endpoint of the pages; ``action``: a state change, which needs the CSRF token."""

    async def handle(request: Request) -> Response:
        if not host_allowed(ui, request):
            return _json_error(400, "bad_host", "sweeps ui answers on loopback names only")
        caller = await caller_of(ui, request)
        if caller is None:
            return _json_error(401, "unauthenticated", "your session has ended; sign in again")
        body: dict[str, Any] = {}
        if action:
            if not same_origin(request) or not same_token(caller.csrf, request.headers.get(CSRF_HEADER)):
                return _json_error(403, "csrf", "this action did not come from a page of this server; reload it")
            try:
                loaded = json.loads(await request.body() or b"{}")
            except ValueError:
                return _json_error(400, "malformed_request", "the request body is not JSON")
            if not isinstance(loaded, dict):
                return _json_error(400, "malformed_request", "the request body must be a JSON object")
            body = loaded
        try:
            result = await run_in_threadpool(handler, ui, Req(caller, request.path_params, request.query_params, body))
        except Exception as exc:
            if isinstance(exc, ReportError):
                return _json_error(status_of(exc), "report_error", str(exc))
            return _with_headers(error_response(exc))
        if isinstance(result, Response):
            return _with_headers(result)
        return Response(dumps(result), media_type="application/json", headers=SECURITY_HEADERS)

    return handle


def _json_error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status_code=status, media_type="application/json", headers=SECURITY_HEADERS)


def _with_headers(response: Response) -> Response:
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def session_cookie(ui: Ui, response: Response, session_id: str) -> None:
    response.set_cookie(
        COOKIE, session_id, httponly=True, samesite="strict", secure=ui.secure_cookies, path="/", max_age=None
    )


__all__ = ["Caller", "Page", "Req", "Session", "Ui", "data_endpoint", "page_endpoint"]
