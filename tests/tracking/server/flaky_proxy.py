"""A loopback HTTP proxy that loses answers on purpose: it forwards a request to the server and
then drops the connection (the server did the work, the client never hears), or answers 503."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

# (method, path, how many times this method+path was seen, 1 for the first) -> "pass" | "drop" | "503"
Policy = Callable[[str, str, int], str]


class FlakyProxy:
    def __init__(self, upstream: str, policy: Policy) -> None:
        self.upstream = upstream
        self.policy = policy
        self.seen: Counter[tuple[str, str]] = Counter()
        self.forwarded: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._http = httpx.Client(base_url=upstream, timeout=30)
        self._stop = False

    def serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def close(self) -> None:
        self._stop = True
        self._listener.close()
        self._http.close()

    def _connection(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                request = _read_request(reader)
                if request is None:
                    return
                method, path, headers, body = request
                with self._lock:
                    self.seen[(method, path.partition("?")[0])] += 1
                    action = self.policy(method, path.partition("?")[0], self.seen[(method, path.partition("?")[0])])
                if action == "503":
                    _answer(conn, 503, b'{"error": {"code": "store_unavailable", "message": "proxy says later"}}')
                    continue
                headers = {
                    k: v for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")
                }
                response = self._http.request(method, path, content=body, headers=headers)
                with self._lock:
                    self.forwarded[(method, path.partition("?")[0])] += 1
                if action == "drop":  # the server did it; the client never learns
                    return
                _answer(conn, response.status_code, response.content, response.headers.get("content-type"))
        except OSError:
            return
        finally:
            reader.close()
            conn.close()


def _read_request(reader) -> tuple[str, str, dict[str, str], bytes] | None:  # type: ignore[no-untyped-def]
    line = reader.readline()
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (raw := reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip()] = value.strip()
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while (size := int(reader.readline().strip(), 16)) > 0:
            body += reader.read(size)
            reader.readline()
        reader.readline()
    else:
        body = reader.read(int(lowered.get("content-length", "0")))
    return method, path, headers, body


def _answer(conn: socket.socket, status: int, body: bytes, content_type: str | None = "application/json") -> None:
    head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nContent-Type: {content_type}\r\n\r\n"
    conn.sendall(head.encode() + body)


@contextmanager
def flaky(upstream: str, policy: Policy) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(upstream, policy)
    thread = threading.Thread(target=proxy.serve, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.close()
        thread.join(5)
