"""Signing in with a token (``sweeps server`` only) and signing out: the session cookie's life."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from reports.ui.core import SECURITY_HEADERS, Page, Ui, caller_of, render, same_origin, session_cookie
from reports.ui.sessions import COOKIE, same_token
from tracking.errors import Unauthenticated

MAX_FORM = 16 * 1024


def _safe_next(target: str | None) -> str:
    """Only a path of this server: never an absolute URL or ``//host`` (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", errors="replace")).items()}


def _signin_page(message: str | None, target: str, status: int = 200) -> HTMLResponse:
    page = Page("Sign in", "signin.js", {"message": message, "next": target}, charts=False)
    return HTMLResponse(render(page, None), status_code=status, headers=SECURITY_HEADERS)


def routes(ui: Ui) -> list[Route]:
    async def signin_form(request: Request) -> Response:
        if not ui.auth:
            return RedirectResponse("/", status_code=303)
        return _signin_page(None, _safe_next(request.query_params.get("next")))

    async def signin(request: Request) -> Response:
        if not ui.auth:
            return RedirectResponse("/", status_code=303)
        form = await _form(request)
        target = _safe_next(form.get("next"))
        if not same_origin(request):
            return _signin_page("sign in from this server's own page", target, 403)
        token = (form.get("token") or "").strip()
        try:
            principal = await run_in_threadpool(ui.server.authorizer.authenticate, token)
        except Unauthenticated:
            principal = None
        if principal is None or principal.token_id is None or ui.sessions is None:
            # Never echo the token; one message for unknown, expired and revoked ones alike.
            return _signin_page("that token is not valid (unknown, expired or revoked)", target, 401)
        session_id = await run_in_threadpool(ui.sessions.open, principal.token_id)
        response = RedirectResponse(target, status_code=303)
        session_cookie(ui, response, session_id)
        return response

    async def signout(request: Request) -> Response:
        caller = await caller_of(ui, request)
        form = await _form(request)
        if caller is not None and caller.signed_in:
            if not same_origin(request) or not same_token(caller.csrf, form.get("csrf")):
                return Response("sign out from this server's own page", status_code=403)
            if ui.sessions is not None:
                await run_in_threadpool(ui.sessions.end, request.cookies.get(COOKIE))
        response = RedirectResponse("/signin" if ui.auth else "/", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=ui.secure_cookies)
        return response

    return [
        Route("/signin", signin_form, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
    ]
