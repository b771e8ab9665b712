"""One line of a stored error that says what went wrong, for failure summaries and tables."""

from __future__ import annotations

import errno
import re

__all__ = ["error_summary", "memory_figures", "os_error_reason"]

_FULL = (errno.ENOSPC, errno.EDQUOT)

# A traceback frame: `  File "x.py", line 3, in f`; the exception follows the last one.
_FRAME = re.compile(r'^\s+File "[^"]*", line \d+')
# Lines libraries append after the reason: SQLAlchemy's link and the statement it ran.
_NOISE = re.compile(r"^\((?:Background on this error at|This error is|Sent by)\b|^\[(?:SQL|parameters):")
# Ray's OOM kill: the sentence with the node's memory figures (2.x "X GB / Y GB (f)", and
# 2.56+ "X GB used / Y GB limit (f)"); the help text after it names no figure.
_RAY_MEMORY = re.compile(
    r"Memory on the node \(IP: (?P<ip>[^,)]*)[^)]*\)[^\n]*? was "
    r"(?P<use>[\d.]+GB(?: used)? / [\d.]+GB(?: limit)?(?: \([\d.]+\))?)"
    r"(?P<over>, which exceeds the memory usage threshold of \d+(?:\.\d+)?)?"
)


def memory_figures(text: str) -> str | None:
    """The sentence of a Ray out-of-memory kill with the node's memory use, without its ids.

    Ray's own sentence also names the node's and task's ids (over 200 characters); a summary
    cut to fit a table would lose the figures.
    """
    found = _RAY_MEMORY.search(text)
    if found is None:
        return None
    return f"Memory on the node (IP: {found['ip']}) was {found['use']}{found['over'] or ''}"


def error_summary(text: str | None, limit: int = 300) -> str | None:
    """The meaningful line of ``text`` (a traceback, a worker's death reason), cut to ``limit``.

    Ray's OOM kill gives its memory figures; a traceback its exception line (the first line
    after the last frame), not the hint or link a library adds below it; other text its first
    line that is no such addition. None for an empty text.
    """
    if not text or not text.strip():
        return None
    line = memory_figures(text) or _exception_line(text.strip().splitlines())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _exception_line(lines: list[str]) -> str:
    frames = [i for i, line in enumerate(lines) if _FRAME.match(line)]
    after = lines[frames[-1] + 1 :] if frames else lines
    kept = [line for line in after if line.strip() and not _NOISE.match(line.strip())]
    # Frame source lines and carets are indented; the exception line starts at the margin.
    top = next((line for line in kept if not line[0].isspace()), None)
    if top is not None:
        return top.strip()
    return (kept or [line for line in lines if line.strip()])[-1].strip()


def os_error_reason(exc: OSError) -> str:
    """What an OS error means for the user: a full disk said as such, else the system's words."""
    if exc.errno in _FULL:
        return "no space left on the device (free some there, then try again)"
    return exc.strerror or str(exc) or type(exc).__name__
