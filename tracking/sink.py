"""Batching sink: buffers metric points and point blocks from any thread, writes one transaction per batch."""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from tracking.entities import MetricPoint
from tracking.errors import TrackingError
from tracking.point_block import PointBlock, by_run

# A batch holds loose points and blocks in arrival order; the store writes it in one transaction.
Batch = Sequence[MetricPoint | PointBlock]
WriteBatch = Callable[[Batch], None]
_Item = list[MetricPoint] | PointBlock  # what the queue holds: a slice of one put, or a block


class SinkError(TrackingError):
    """A batch could not be written even after the store's retries; its points are lost."""


class MetricSink:
    """Buffers points and point blocks and writes them in batches on a background thread.

    Flushes when ``batch_size`` points are pending, ``flush_interval_s`` after the oldest
    pending point arrived, on :meth:`flush`, and on :meth:`close` (also at interpreter exit).
    At most ``max_pending`` points are held: producers wait while the store catches up.
    Sizes count points, a block counting as many as it holds; blocks are split where a
    bound falls inside one. The queue holds whole puts, so its upkeep costs per put, not per point.
    """

    def __init__(
        self,
        write: WriteBatch,
        *,
        batch_size: int = 1_000,
        max_batch: int = 20_000,
        flush_interval_s: float = 1.0,
        max_pending: int = 200_000,
    ) -> None:
        if batch_size < 1 or max_batch < batch_size or max_pending < max_batch:
            raise ValueError("need 1 <= batch_size <= max_batch <= max_pending")
        self._write = write
        self.batch_size = batch_size
        self.max_batch = max_batch
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        self._pending: deque[_Item] = deque()
        self._pending_points = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # writer waits here for work
        self._room = threading.Condition(self._lock)  # producers and flushers wait here
        self._accepted = 0  # points ever put
        self._done = 0  # points written (or dropped after a failed batch)
        self._in_flight = 0
        self._oldest_at: float | None = None
        self._flush_target = 0
        self._error: BaseException | None = None
        self._closed = False
        self.peak_pending = 0
        self.batches_written = 0
        self._thread = threading.Thread(target=self._run, name="sweeps-metric-sink", daemon=True)
        self._thread.start()
        _live_sinks.add(self)

    # -- producers -----------------------------------------------------------------------

    def put(self, points: Iterable[MetricPoint]) -> None:
        """Queue points; blocks while the buffer is full. Raises a writer error, once."""
        batch = points if isinstance(points, list) else list(points)
        if batch:
            self._admit(batch, len(batch))

    def put_block(self, block: PointBlock) -> None:
        """Queue a block of points (already checked); blocks while the buffer is full, as `put`."""
        if len(block):
            self._admit(block, len(block))

    def _admit(self, item: _Item, size: int) -> None:
        with self._lock:
            self._raise_error_locked()
            if self._closed:
                raise SinkError("the metric sink is closed")
            start = 0
            while start < size:
                while self._pending_points + self._in_flight >= self.max_pending:
                    self._wake.notify()
                    self._room.wait()
                    self._raise_error_locked()
                room = self.max_pending - self._pending_points - self._in_flight
                end = min(size, start + room)
                # Always a copy of a list: the caller may reuse its list once put returns.
                self._pending.append(
                    item if end - start == size and type(item) is PointBlock else _part(item, start, end)
                )
                self._pending_points += end - start
                self._accepted += end - start
                start = end
                if self._oldest_at is None:
                    self._oldest_at = time.monotonic()
                    # An idle writer sleeps with no deadline; wake it to start the flush timer.
                    self._wake.notify()
                self.peak_pending = max(self.peak_pending, self._pending_points + self._in_flight)
                if self._pending_points >= self.batch_size:
                    self._wake.notify()

    def flush(self, timeout_s: float | None = None) -> None:
        """Return once every point put so far is in the store (visible to readers)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._lock:
            target = self._accepted
            self._flush_target = max(self._flush_target, target)
            self._wake.notify()
            while self._done < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise SinkError(f"flush timed out with {target - self._done} points unwritten")
                if not self._thread.is_alive():
                    raise SinkError("the metric sink's writer thread has stopped")
                self._room.wait(remaining if remaining is not None else 1.0)
            self._raise_error_locked()

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.flush()
        finally:
            with self._lock:
                self._closed = True
                self._wake.notify()
            self._thread.join(timeout=30)
            _live_sinks.discard(self)

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending_points + self._in_flight

    def __enter__(self) -> MetricSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writer thread -------------------------------------------------------------------

    def _raise_error_locked(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise SinkError(f"a metric batch could not be written: {error}") from error

    def _due_locked(self) -> bool:
        if not self._pending:
            return False
        if self._pending_points >= self.batch_size or self._flush_target > self._done or self._closed:
            return True
        return self._oldest_at is not None and time.monotonic() - self._oldest_at >= self.flush_interval_s

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._due_locked():
                    if self._closed and not self._pending:
                        return
                    wait = None
                    if self._oldest_at is not None:
                        wait = max(0.0, self.flush_interval_s - (time.monotonic() - self._oldest_at))
                    self._wake.wait(wait)
                batch, size = self._take_batch_locked()
                self._in_flight = size
                self._oldest_at = time.monotonic() if self._pending else None
            try:
                self._write(batch)
            except BaseException as exc:
                with self._lock:
                    self._error = exc
            with self._lock:
                self._in_flight = 0
                self._done += size
                self.batches_written += 1
                self._room.notify_all()

    def _take_batch_locked(self) -> tuple[list[MetricPoint | PointBlock], int]:
        """Up to ``max_batch`` points from the front of the queue, splitting the item the bound falls in."""
        batch: list[MetricPoint | PointBlock] = []
        size = 0
        pending = self._pending
        while pending and size < self.max_batch:
            item = pending[0]
            n = len(item)
            room = self.max_batch - size
            if n > room:
                pending[0] = _part(item, room, n)
                item, n = _part(item, 0, room), room
            else:
                pending.popleft()
            if type(item) is PointBlock:
                batch.append(item)
            else:
                batch.extend(item)
            size += n
        self._pending_points -= size
        return batch, size


class ShardedSink:
    """Several `MetricSink`s, each with its own writer thread, sharing the work by run.

    PostgreSQL spends most of a batch's time in the server; a second connection writing
    other runs meanwhile keeps it busy. A run always goes to the same shard, so its points
    are stored in the order they were put, as with one sink. The memory bound is shared out.
    """

    def __init__(self, write: WriteBatch, shards: int, *, max_pending: int = 200_000, **options: float) -> None:
        if shards < 2:
            raise ValueError("a sharded sink needs at least 2 shards; use MetricSink")
        share = max_pending // shards
        self._shards = [MetricSink(write, max_pending=share, **options) for _ in range(shards)]  # type: ignore[arg-type]

    @property
    def shards(self) -> list[MetricSink]:
        return list(self._shards)

    def _shard(self, run_id: str) -> MetricSink:
        return self._shards[hash(run_id) % len(self._shards)]

    def put(self, points: Iterable[MetricPoint]) -> None:
        for run_id, part in by_run(points).items():
            self._shard(run_id).put(part)

    def put_block(self, block: PointBlock) -> None:
        self._shard(block.run_id).put_block(block)

    def flush(self, timeout_s: float | None = None) -> None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for shard in self._shards:
            shard.flush(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        errors = []
        for shard in self._shards:
            try:
                shard.close()
            except Exception as exc:  # close every shard; report the first failure
                errors.append(exc)
        if errors:
            raise errors[0]

    @property
    def pending(self) -> int:
        return sum(shard.pending for shard in self._shards)

    @property
    def max_pending(self) -> int:
        return sum(shard.max_pending for shard in self._shards)

    @property
    def peak_pending(self) -> int:
        """The sum of the shards' peaks: an upper bound of the points held at any one time."""
        return sum(shard.peak_pending for shard in self._shards)

    @property
    def batches_written(self) -> int:
        return sum(shard.batches_written for shard in self._shards)

    def __enter__(self) -> ShardedSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _part(item: _Item, start: int, end: int) -> _Item:
    return item.slice(start, end) if type(item) is PointBlock else item[start:end]


_live_sinks: weakref.WeakSet[MetricSink] = weakref.WeakSet()


@atexit.register
def _close_live_sinks() -> None:
    for sink in list(_live_sinks):
        with contextlib.suppress(Exception):  # nothing left to report to at exit
            sink.close()
