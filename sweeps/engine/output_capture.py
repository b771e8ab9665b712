"""Capture what one trial's objective prints (stdout, stderr, warnings, logging) for its `output.log`.

Writes still reach the real streams (tee): a local sweep's user sees them as before, and Ray
keeps its own log files. Capture is per thread, so a trial thread's output never lands in
another trial's log and the driver's own output (progress) in none.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["MAX_OUTPUT_BYTES", "OUTPUT_ARTIFACT", "TAIL_LINES", "Captured", "capture_output", "tail"]

OUTPUT_ARTIFACT = "output.log"
MAX_OUTPUT_BYTES = 1 << 20  # the last MiB is kept: enough for a traceback's context, bounded per trial
TAIL_LINES = 10  # shown next to a failed trial's error

_active: dict[int, Captured] = {}  # thread id -> its capture
_muted: set[int] = set()  # threads showing a warning already kept
_install_lock = threading.Lock()


class Captured:
    """The last `limit` bytes a thread wrote, with how many earlier bytes were dropped."""

    def __init__(self, limit: int = MAX_OUTPUT_BYTES) -> None:
        self._limit = limit
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self.dropped = 0

    def write(self, text: str) -> None:
        data = text.encode("utf-8", "replace")
        if not data:
            return
        self._chunks.append(data)
        self._size += len(data)
        while self._size > self._limit and self._chunks:
            extra = self._size - self._limit
            first = self._chunks[0]
            if len(first) <= extra:
                self._chunks.popleft()
                self._size -= len(first)
                self.dropped += len(first)
            else:
                self._chunks[0] = first[extra:]
                self._size -= extra
                self.dropped += extra

    def data(self) -> bytes:
        """The kept bytes, after a first line saying how much was cut (if anything was)."""
        body = b"".join(self._chunks)
        if not self.dropped:
            return body
        return f"[... {self.dropped:,} earlier bytes of output dropped; the last {len(body):,} kept]\n".encode() + body


class _Tee:
    """Stands in for sys.stdout / sys.stderr: every write goes on; a capturing thread's is also kept."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        ident = threading.get_ident()
        captured = _active.get(ident)
        if captured is not None and ident not in _muted:
            captured.write(text)
        try:
            return self._stream.write(text)
        except (OSError, ValueError):  # a closed or broken real stream must not fail the trial
            return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


class _LogHandler(logging.Handler):
    """Records of a capturing thread, for loggers whose handlers write to streams opened before the tee."""

    def emit(self, record: logging.LogRecord) -> None:
        route = _route(logging.getLogger(record.name))
        if route == "none":
            # This handler on the root hides logging.lastResort from every thread (the driver's
            # own warnings too, e.g. a lost lease), which would have written the record to
            # sys.stderr: do what it does, through the tee (kept too for a capturing thread).
            last = logging.lastResort
            if last is not None and record.levelno >= last.level:
                sys.stderr.write(record.getMessage() + "\n")
            return
        captured = _active.get(record.thread or 0)
        if captured is not None and route == "elsewhere":
            captured.write(self.format(record) + "\n")


def _route(logger: logging.Logger) -> str:
    """Where a logger's records go: "tee" (a handler on the tee), "elsewhere", or "none" (no handler)."""
    current: logging.Logger | None = logger
    found = "none"
    while current is not None:
        for handler in current.handlers:
            if isinstance(handler, _LogHandler):
                continue
            if isinstance(handler, logging.StreamHandler) and isinstance(handler.stream, _Tee):
                return "tee"
            found = "elsewhere"
        current = current.parent if current.propagate else None
    return found


_handler = _LogHandler()
_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))


def _install() -> None:
    with _install_lock:
        if not isinstance(sys.stdout, _Tee):
            sys.stdout = _Tee(sys.stdout)  # type: ignore[assignment]
        if not isinstance(sys.stderr, _Tee):
            sys.stderr = _Tee(sys.stderr)  # type: ignore[assignment]
        root = logging.getLogger()
        if _handler not in root.handlers:
            root.addHandler(_handler)


@contextmanager
def capture_output(limit: int = MAX_OUTPUT_BYTES) -> Iterator[Captured]:
    """Keep what this thread prints, warns and logs while the block runs."""
    _install()
    captured = Captured(limit)
    ident = threading.get_ident()
    _active[ident] = captured
    shown = warnings.showwarning
    warnings.showwarning = _kept_warning(shown)  # whoever shows warnings (stderr, pytest's record), we keep them too
    try:
        yield captured
    finally:
        _active.pop(ident, None)
        if getattr(warnings.showwarning, "_sweeps_wrapped", None) is shown:
            warnings.showwarning = shown


def _kept_warning(shown: Callable[..., None]) -> Callable[..., None]:
    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        ident = threading.get_ident()
        captured = _active.get(ident)
        if captured is None:
            shown(message, category, filename, lineno, file, line)
            return
        captured.write(warnings.formatwarning(message, category, filename, lineno, line))
        _muted.add(ident)  # the display may write to sys.stderr (the tee): kept once, here
        try:
            shown(message, category, filename, lineno, file, line)
        finally:
            _muted.discard(ident)

    show._sweeps_wrapped = shown  # type: ignore[attr-defined]
    return show


def tail(data: bytes, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of captured output, as text."""
    text = data.decode("utf-8", "replace").rstrip("\n")
    return "\n".join(text.splitlines()[-lines:])
