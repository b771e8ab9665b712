"""Request bodies read within a limit: Content-Length checked first, bytes counted while streaming."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request

from tracking.wire import BodyTooLarge, WireError


def declared_length(request: Request, limit: int) -> int | None:
    """The Content-Length (None when chunked); `BodyTooLarge` past ``limit``."""
    header = request.headers.get("content-length")
    if header is None:
        return None
    try:
        length = int(header)
    except ValueError:
        raise WireError(f"Content-Length {header[:40]!r} is not a number") from None
    if length > limit:
        raise BodyTooLarge(f"request body of {length} bytes is over the server's limit of {limit} bytes")
    return length


async def stream(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The body's chunks, refusing it once more than ``limit`` bytes arrived (chunked bodies too)."""
    declared_length(request, limit)
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise BodyTooLarge(f"request body is over the server's limit of {limit} bytes")
        if chunk:
            yield chunk


async def read_body(request: Request, limit: int) -> bytes:
    if request.method in ("GET", "HEAD", "DELETE") and request.headers.get("content-length") in (None, "0"):
        return b""
    return b"".join([chunk async for chunk in stream(request, limit)])
