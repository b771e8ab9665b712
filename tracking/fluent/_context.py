"""The active run of the fluent layer: a stack in a `ContextVar`, so each thread and asyncio task has its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING

from tracking.entities import RunStatus
from tracking.errors import InvalidParameter
from tracking.fluent import _deferred
from tracking.fluent._target import RunTarget

if TYPE_CHECKING:
    from tracking.client import TrackingClient
    from tracking.entities import Run
    from tracking.run_handle import ActiveRun

__all__ = ["FluentRun", "activated", "current", "require"]

# A tuple, never mutated: a copied context (a new asyncio task) keeps its parent's stack
# without sharing later pushes. Only the fluent layer reads it; clients and stores never do.
_STACK: ContextVar[tuple[FluentRun, ...]] = ContextVar("tracking_fluent_runs", default=())


class FluentRun:
    """What `tracking.start_run` returns: a context manager over the run the fluent calls write to.

    Runs the fluent layer started (``owned``) end when the block ends, FINISHED or FAILED like
    `ActiveRun`; a borrowed target (a sweep's trial) is left to its owner. Other attributes
    (``log_metric``, ``name``...) are the target's.
    """

    def __init__(
        self, target: RunTarget, handle: ActiveRun | None = None, on_end: Callable[[str], None] | None = None
    ) -> None:
        self.target = target
        self.handle = handle  # None: a borrowed target, e.g. a sweep trial (no store here)
        self._on_end = on_end

    def __repr__(self) -> str:
        kind = "run" if self.owned else "borrowed"
        return f"FluentRun({kind}, run_id={self.run_id!r})"

    @property
    def owned(self) -> bool:
        return self.handle is not None

    @property
    def run_id(self) -> str:
        return self.target.run_id

    @property
    def client(self) -> TrackingClient | None:
        return None if self.handle is None else self.handle.client

    @property
    def info(self) -> Run:
        """A fresh snapshot of the run (as MLflow's ``run.info``: ``run_id``, ``status``...)."""
        _deferred.wait(self.run_id)  # with what autologging is still writing
        if self.handle is None:
            raise InvalidParameter(
                f"run {self.run_id} belongs to a sweep trial, whose record is kept by the sweep driver; "
                "use trial.run_id, or read the run with a client after the sweep"
            )
        return self.handle.info

    def __getattr__(self, name: str) -> object:
        # Only for names this class lacks; dunders and `target` itself (a half-built or
        # unpickled object) must not recurse into the target.
        if name.startswith("__") or name == "target":
            raise AttributeError(name)
        return getattr(self.target, name)

    def end(self, status: RunStatus | str = RunStatus.FINISHED, error: str | None = None) -> None:
        try:
            try:
                _deferred.wait(self.run_id)  # the run's deferred writes land before it ends
            finally:
                if self.handle is not None:
                    self.handle.end(status, error)
        finally:
            self._forget()

    def __enter__(self) -> FluentRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            try:
                _deferred.wait(self.run_id)
            finally:
                if self.handle is not None:
                    self.handle.__exit__(exc_type, exc, tb)
        finally:
            self._forget()

    def _forget(self) -> None:
        _remove(self)
        if self._on_end is not None:
            self._on_end(self.run_id)


def current() -> FluentRun | None:
    """The innermost active run of this thread / task, if any."""
    stack = _STACK.get()
    return stack[-1] if stack else None


def require(call: str) -> FluentRun:
    """The active run, or a clear error naming `start_run`."""
    found = current()
    if found is None:
        raise InvalidParameter(
            f"tracking.{call}() needs an active run: wrap it in `with tracking.start_run():` "
            "(or call it inside a sweep objective)"
        )
    return found


def push(run: FluentRun) -> None:
    _STACK.set((*_STACK.get(), run))


def _remove(run: FluentRun) -> None:
    stack = _STACK.get()
    if run in stack:
        _STACK.set(tuple(r for r in stack if r is not run))


@contextmanager
def activated(target: RunTarget) -> Iterator[FluentRun]:
    """Make ``target`` the active run while the block runs (a sweep runs each objective so).

    Leaving the block restores this context's previous stack exactly, whatever the code
    inside left open.
    """
    if not isinstance(target, RunTarget):
        raise InvalidParameter(f"{type(target).__qualname__} cannot be an active run: it lacks RunTarget's methods")
    token = _STACK.set((*_STACK.get(), FluentRun(target)))
    try:
        yield _STACK.get()[-1]
    finally:
        try:
            _deferred.wait(target.run_id)  # the target's owner ends it after this block
        finally:
            _STACK.reset(token)
