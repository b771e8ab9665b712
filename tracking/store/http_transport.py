"""The HTTP store's one connection to a server: keep-alive, a bearer token, retries with backoff
on connection errors and 502/503/504 up to a deadline, server errors raised as tracking errors."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tracking.errors import StoreError, StoreUnavailable, TrackingError
from tracking.wire import JSON_TYPE, dumps, loads, raise_error

RETRY_FOR_S = 30.0
_RETRY_STATUS = frozenset({502, 503, 504})
_FIRST_WAIT_S, _MAX_WAIT_S = 0.05, 2.0
Body = bytes | Callable[[], Iterable[bytes]]  # a callable gives a fresh stream per attempt


@dataclass(frozen=True)
class Answer:
    """A 2xx answer; ``attempts`` > 1 when it took retries (the first try may have been applied)."""

    content: bytes
    attempts: int

    def json(self) -> Any:
        return loads(self.content)


class Transport:
    """Thread-safe requests to ``base_url``; the token is sent as ``Authorization: Bearer`` only.

    ``idempotent=False`` requests (a registration) are retried only when they cannot have
    reached the store: a refused connection or a 503 answer.
    """

    def __init__(
        self, base_url: str, token: str | None, *, timeout_s: float = 60.0, retry_for_s: float = RETRY_FOR_S
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry_for_s = retry_for_s
        headers = {"User-Agent": "sweeps-tracking"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )
        self._closed = False

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r})"  # never the token

    def close(self) -> None:
        self._closed = True
        self._client.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store {self.base_url} is closed; open a new client")

    # -- requests ----------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        params: Mapping[str, str] | None = None,
        idempotent: bool = True,
        retry_for_s: float | None = None,
    ) -> Any:
        """A JSON request (``body`` None: none) and its JSON answer."""
        content = None if body is None else dumps(body)
        headers = {"Content-Type": JSON_TYPE} if content is not None else None
        answer = self.send(
            method, path, content, params=params, headers=headers, idempotent=idempotent, retry_for_s=retry_for_s
        )
        return answer.json()

    def send(
        self,
        method: str,
        path: str,
        content: Body | None = None,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        retry_for_s: float | None = None,
    ) -> Answer:
        """One request, retried as the class says; `TrackingError` for an error answer, with
        ``attempts`` set on it (a retried create may have been applied by an earlier attempt)."""
        self._check_open()
        deadline = time.monotonic() + (self.retry_for_s if retry_for_s is None else retry_for_s)
        wait, attempt = _FIRST_WAIT_S, 0
        while True:
            attempt += 1
            body = content() if callable(content) else content
            try:
                response = self._client.request(method, path, content=body, params=params, headers=headers)
            except httpx.TransportError as exc:
                unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if (idempotent or unsent) and time.monotonic() + wait < deadline:
                    wait = self._sleep(wait)
                    continue
                raise StoreUnavailable(
                    f"the server {self.base_url} cannot be reached ({type(exc).__name__}: {exc}); "
                    f"gave up after {attempt} attempts; check that `sweeps server` runs there"
                ) from exc
            if response.status_code < 300:
                return Answer(response.content, attempt)
            retryable = response.status_code == 503 or (idempotent and response.status_code in _RETRY_STATUS)
            if retryable and time.monotonic() + wait < deadline:
                wait = self._sleep(wait)
                continue
            try:
                raise_error(response.status_code, response.content, self.base_url)
            except TrackingError as exc:
                exc.attempts = attempt  # type: ignore[attr-defined]
                raise

    def stream_to(
        self, path: str, write: Callable[[bytes], object], *, params: Mapping[str, str] | None = None
    ) -> None:
        """GET ``path`` and hand its body to ``write`` chunk by chunk (retried until the first byte)."""
        self._check_open()
        deadline = time.monotonic() + self.retry_for_s
        wait, attempt = _FIRST_WAIT_S, 0
        while True:
            attempt += 1
            try:
                with self._client.stream("GET", path, params=params) as response:
                    if response.status_code >= 300:
                        response.read()
                        if response.status_code in _RETRY_STATUS and time.monotonic() + wait < deadline:
                            wait = self._sleep(wait)
                            continue
                        raise_error(response.status_code, response.content, self.base_url)
                    for chunk in response.iter_bytes(1024 * 1024):
                        write(chunk)
                    return
            except httpx.TransportError as exc:
                raise StoreUnavailable(
                    f"download of {path} from the server {self.base_url} failed ({type(exc).__name__}: {exc})"
                ) from exc

    @staticmethod
    def _sleep(wait: float) -> float:
        time.sleep(wait * (0.5 + random.random()))  # jitter: many clients must not retry in step
        return min(wait * 2, _MAX_WAIT_S)
