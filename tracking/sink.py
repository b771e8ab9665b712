"""Batching sink: buffers metric points and point blocks from any thread, writes one transaction per batch."""

from __future__ import annotations

import atexit
import contextlib
import heapq
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from tracking.entities import MetricPoint
from tracking.errors import SinkError, StoreUnavailable
from tracking.point_block import PointBlock, by_run

__all__ = ["Batch", "MetricSink", "ShardedSink", "SinkError", "SinkStats", "Taken", "WriteBatch"]

# A batch holds loose points and blocks in arrival order; the store writes it in one transaction.
Batch = Sequence[MetricPoint | PointBlock]
WriteBatch = Callable[[Batch], None]
_Item = list[MetricPoint] | PointBlock  # what the queue holds: a slice of one put, or a block
# A queued item with its put's sequence number and its run (None: a put of several runs, whose
# points are looked at one by one only when a run is taken out or a batch fails).
_Entry = tuple[int, str | None, _Item]
_SHOWN_RUNS = 5  # runs named in one error message
RETRY_FOR_S = 300.0  # how long a batch is retried while the store is unavailable
_MAX_RETRY_DELAY_S = 2.0


@dataclass(frozen=True, slots=True)
class SinkStats:
    """What a sink holds and has done: points queued or being written, the peak of that,
    batches written, and its writer threads."""

    pending: int
    peak_pending: int
    batches_written: int
    writers: int


class Taken:
    """Queued points taken out of a sink for the caller to write itself (see `MetricSink.take`).

    Until `done` or `restore` is called, flushes wait for these points as for queued ones.
    """

    def __init__(self, parts: list[tuple[MetricSink, int, list[_Entry]]]) -> None:
        self._parts = parts

    @property
    def items(self) -> list[MetricPoint | PointBlock]:
        """The points and blocks, in the order they were put (per run)."""
        out: list[MetricPoint | PointBlock] = []
        for _, _, entries in self._parts:
            for _, _, item in entries:
                if type(item) is PointBlock:
                    out.append(item)
                else:
                    out.extend(item)
        return out

    def done(self) -> None:
        """The caller has stored them."""
        for sink, token, _ in self._parts:
            sink._release(token, None)

    def restore(self) -> None:
        """The caller could not store them: queue them again where they were."""
        for sink, token, entries in self._parts:
            sink._release(token, entries)


class MetricSink:
    """Buffers points and point blocks and writes them in batches on a background thread.

    Flushes when ``batch_size`` points are pending, ``flush_interval_s`` after the oldest
    pending point arrived, on :meth:`flush`, and on :meth:`close` (also at interpreter exit).
    At most ``max_pending`` points are held: producers wait while the store catches up.
    Sizes count points, a block counting as many as it holds; blocks are split where a
    bound falls inside one. The queue holds whole puts, so its upkeep costs per put, not per point.

    A batch the store cannot take now (`StoreUnavailable`: a restart, an outage) is retried
    until it is stored or ``retry_for_s`` passes; meanwhile producers block once ``max_pending``
    points are held, nothing is dropped. A batch that still cannot be written is reported to
    the runs whose points it held: every later put or take for one of them raises `SinkError`
    naming it, until `forget` is called for it (its end recorded the loss); a flush raises
    once for runs no call has told yet. Other runs' puts go on. A batch
    the store refuses outright is written again run by run, so one run's bad point costs
    no other run its points.
    """

    def __init__(
        self,
        write: WriteBatch,
        *,
        batch_size: int = 1_000,
        max_batch: int = 20_000,
        flush_interval_s: float = 1.0,
        max_pending: int = 200_000,
        retry_for_s: float = RETRY_FOR_S,
    ) -> None:
        if batch_size < 1 or max_batch < batch_size or max_pending < max_batch:
            raise ValueError("need 1 <= batch_size <= max_batch <= max_pending")
        if not retry_for_s >= 0:
            raise ValueError("need retry_for_s >= 0")
        self._write = write
        self.retry_for_s = retry_for_s
        self.batch_size = batch_size
        self.max_batch = max_batch
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        self._pending: deque[_Entry] = deque()  # in sequence order
        self._pending_points = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # writer waits here for work
        self._room = threading.Condition(self._lock)  # producers and flushers wait here
        self._seq = 0  # sequence number of the latest put
        self._in_flight = 0  # points of the batch being written
        self._in_flight_entries: list[_Entry] = []
        self._outside: dict[int, tuple[int, int]] = {}  # taken out: token -> (lowest seq, points)
        self._next_token = 0
        self._oldest_at: float | None = None
        self._flush_target = 0  # write every entry up to this sequence number now
        self._failed: dict[str, BaseException] = {}  # runs whose points a failed batch lost
        self._told: set[str] = set()  # failed runs some call has raised for already
        self._closed = False
        self.peak_pending = 0
        self.batches_written = 0
        self._thread = threading.Thread(target=self._run, name="sweeps-metric-sink", daemon=True)
        self._thread.start()
        _live_sinks.add(self)

    # -- producers -----------------------------------------------------------------------

    def put(self, points: Iterable[MetricPoint], *, run_id: str | None = None) -> None:
        """Queue points; blocks while the buffer is full.

        ``run_id``: every point belongs to that run (the client knows; the sink then never looks
        at the points one by one). Raises `SinkError` if earlier points of these runs were lost.
        """
        batch = points if isinstance(points, list) else list(points)
        if batch:
            self._admit(batch, len(batch), run_id)

    def put_block(self, block: PointBlock) -> None:
        """Queue a block of points (already checked); blocks while the buffer is full, as `put`."""
        if len(block):
            self._admit(block, len(block), block.run_id)

    def _admit(self, item: _Item, size: int, run_id: str | None) -> None:
        with self._lock:
            if self._failed:
                self._raise_failed_locked(_runs_of(item) if run_id is None else (run_id,))
            if self._closed:
                raise SinkError("the metric sink is closed")
            start = 0
            while start < size:
                while self._pending_points + self._in_flight >= self.max_pending:
                    self._wake.notify()
                    self._room.wait()
                    if self._failed:
                        self._raise_failed_locked(_runs_of(item) if run_id is None else (run_id,))
                room = self.max_pending - self._pending_points - self._in_flight
                end = min(size, start + room)
                self._seq += 1
                # Always a copy of a list: the caller may reuse its list once put returns.
                part = item if end - start == size and type(item) is PointBlock else _part(item, start, end)
                self._pending.append((self._seq, run_id, part))
                self._pending_points += end - start
                start = end
                if self._oldest_at is None:
                    self._oldest_at = time.monotonic()
                    # An idle writer sleeps with no deadline; wake it to start the flush timer.
                    self._wake.notify()
                self.peak_pending = max(self.peak_pending, self._pending_points + self._in_flight)
                if self._pending_points >= self.batch_size:
                    self._wake.notify()

    def _held_locked(self) -> int:
        return self._pending_points + self._in_flight

    # -- flushing and taking -------------------------------------------------------------

    def flush(
        self, timeout_s: float | None = None, *, run_ids: Collection[str] | None = None, report: bool = True
    ) -> None:
        """Return once every point put so far (of ``run_ids``, when given) is in the store.

        Raises `SinkError` for lost points of any run (of ``run_ids`` only, when given) that no
        call told yet (``report=False``: none; a reader of many runs leaves each failure to its
        run's writer).
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._lock:
            target = self._seq if run_ids is None else self._last_seq_locked(run_ids)
            if target:
                self._flush_target = max(self._flush_target, target)
                self._wake.notify()
            while self._lowest_outstanding_locked() <= target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise SinkError(f"flush timed out with {self._held_locked()} points unwritten")
                if not self._thread.is_alive():
                    raise SinkError("the metric sink's writer thread has stopped")
                self._room.wait(remaining if remaining is not None else 1.0)
            if report:  # a read: each loss once; the run's own writes are told every time
                self._raise_failed_locked(
                    [r for r in (self._failed if run_ids is None else run_ids) if r not in self._told]
                )

    def take(self, run_ids: Collection[str], *, lost_ok: Collection[str] = ()) -> Taken:
        """Take every queued point of ``run_ids`` out, for the caller to write with something else.

        Waits only for a batch being written that holds points of these runs. The caller must
        call `Taken.done` once it stored them, or `Taken.restore` if it could not.
        Raises `SinkError` (and takes nothing) if earlier points of these runs were lost,
        except for the runs of ``lost_ok`` (their end records a failure anyway).
        """
        wanted = set(run_ids)
        told = wanted.difference(lost_ok)
        with self._lock:
            self._raise_failed_locked(told)
            while self._in_flight_entries and not wanted.isdisjoint(_entries_runs(self._in_flight_entries)):
                self._room.wait()
            self._raise_failed_locked(told)  # the batch waited for may have failed
            taken: list[_Entry] = []
            kept: deque[_Entry] = deque()
            size = 0
            for entry in self._pending:
                seq, run, item = entry
                if run is not None:
                    (taken if run in wanted else kept).append(entry)
                    size += len(item) if run in wanted else 0
                    continue
                mine = [p for p in item if p.run_id in wanted]  # type: ignore[union-attr]
                if mine:
                    taken.append((seq, None, mine))
                    size += len(mine)
                    rest = [p for p in item if p.run_id not in wanted]  # type: ignore[union-attr]
                    if rest:
                        kept.append((seq, None, rest))
                else:
                    kept.append(entry)
            token = self._next_token
            self._next_token += 1
            if taken:
                self._pending = kept
                self._pending_points -= size
                self._outside[token] = (taken[0][0], size)
                if not self._pending:
                    self._oldest_at = None
            return Taken([(self, token, taken)])

    def _release(self, token: int, restore: list[_Entry] | None) -> None:
        with self._lock:
            held = self._outside.pop(token, None)
            if held is None:
                return
            if restore:
                self._pending = deque(heapq.merge(self._pending, restore, key=lambda e: e[0]))
                self._pending_points += held[1]
                if self._oldest_at is None:
                    self._oldest_at = time.monotonic()
                self._wake.notify()
            self._room.notify_all()

    def forget(self, run_ids: Iterable[str]) -> None:
        """Stop reporting lost points of ``run_ids`` (their runs ended recording the failure)."""
        with self._lock:
            for run in run_ids:
                self._failed.pop(run, None)
                self._told.discard(run)

    def failed_runs(self) -> dict[str, BaseException]:
        """The runs whose points a batch that could not be written lost, with the error."""
        with self._lock:
            return dict(self._failed)

    def _last_seq_locked(self, run_ids: Collection[str]) -> int:
        """The sequence number of the latest outstanding entry of ``run_ids`` (0: none)."""
        wanted = set(run_ids)
        for entries in (reversed(self._pending), reversed(self._in_flight_entries)):
            for seq, run, item in entries:
                if (run in wanted) if run is not None else not wanted.isdisjoint(_runs_of(item)):
                    return seq
        # Taken-out entries are written by whoever took them, before that call returns.
        return 0

    def _lowest_outstanding_locked(self) -> float:
        """The lowest sequence number not yet stored (infinity: everything is)."""
        lowest: float = self._pending[0][0] if self._pending else float("inf")
        if self._in_flight_entries:
            lowest = min(lowest, self._in_flight_entries[0][0])
        for seq, _ in self._outside.values():
            lowest = min(lowest, seq)
        return lowest

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
            return self._held_locked()

    def stats(self) -> SinkStats:
        with self._lock:
            return SinkStats(self._held_locked(), self.peak_pending, self.batches_written, 1)

    def __enter__(self) -> MetricSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- failures ------------------------------------------------------------------------

    def _raise_failed_locked(self, run_ids: Iterable[str]) -> None:
        """Raise for the runs of ``run_ids`` whose points a failed batch lost."""
        if not self._failed:
            return
        lost = [run for run in dict.fromkeys(run_ids) if run in self._failed]
        if not lost:
            return
        errors = [self._failed[run] for run in lost]
        self._told.update(lost)
        named = ", ".join(lost[:_SHOWN_RUNS]) + (
            f" and {len(lost) - _SHOWN_RUNS} more" if len(lost) > _SHOWN_RUNS else ""
        )
        raise SinkError(
            f"metric points of run{'s' if len(lost) > 1 else ''} {named} were lost: "
            f"a batch could not be written: {errors[0]}",
            lost,
        ) from errors[0]

    # -- writer thread -------------------------------------------------------------------

    def _due_locked(self) -> bool:
        if not self._pending:
            return False
        if self._pending_points >= self.batch_size or self._pending[0][0] <= self._flush_target or self._closed:
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
                batch, entries, size = self._take_batch_locked()
                self._in_flight = size
                self._in_flight_entries = entries
                self._oldest_at = time.monotonic() if self._pending else None
            failures = self._store_batch(batch, entries)
            with self._lock:
                for run, failure in failures.items():
                    self._failed.setdefault(run, failure)
                self._in_flight = 0
                self._in_flight_entries = []
                self.batches_written += 1
                self._room.notify_all()

    def _store_batch(self, batch: Batch, entries: list[_Entry]) -> dict[str, BaseException]:
        """Write a batch; the runs whose points could not be stored, with the reason."""
        failure = self._write_retrying(batch)
        if failure is None:
            return {}
        runs = _entries_runs(entries)
        if isinstance(failure, StoreUnavailable) or len(runs) < 2:
            return dict.fromkeys(runs, failure)
        # Refused outright (a value the database rejects): write each run's points on their own,
        # so only the run holding the bad point loses its points.
        failures: dict[str, BaseException] = {}
        for run, part in _batch_by_run(entries).items():
            error = self._write_retrying(part)
            if error is not None:
                failures[run] = error
        return failures

    def _write_retrying(self, batch: Batch) -> BaseException | None:
        """Write ``batch``, retrying while the store is unavailable, up to ``retry_for_s``; the error, if any."""
        deadline = time.monotonic() + self.retry_for_s
        delay = 0.05
        while True:
            try:
                self._write(batch)
                return None
            except StoreUnavailable as exc:
                if time.monotonic() + delay > deadline:
                    gave_up = StoreUnavailable(f"{exc} (the batch was retried for {self.retry_for_s:g}s)")
                    gave_up.__cause__ = exc
                    return gave_up
                time.sleep(delay)
                delay = min(_MAX_RETRY_DELAY_S, delay * 2)
            except BaseException as exc:
                return exc

    def _take_batch_locked(self) -> tuple[list[MetricPoint | PointBlock], list[_Entry], int]:
        """Up to ``max_batch`` points from the front of the queue, splitting the item the bound falls in."""
        batch: list[MetricPoint | PointBlock] = []
        entries: list[_Entry] = []
        size = 0
        pending = self._pending
        while pending and size < self.max_batch:
            seq, run, item = pending[0]
            n = len(item)
            room = self.max_batch - size
            if n > room:
                pending[0] = (seq, run, _part(item, room, n))
                item, n = _part(item, 0, room), room
            else:
                pending.popleft()
            entries.append((seq, run, item))
            if type(item) is PointBlock:
                batch.append(item)
            else:
                batch.extend(item)
            size += n
        self._pending_points -= size
        return batch, entries, size


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

    def _by_shard(self, run_ids: Iterable[str]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for run_id in run_ids:
            out.setdefault(hash(run_id) % len(self._shards), []).append(run_id)
        return out

    def put(self, points: Iterable[MetricPoint], *, run_id: str | None = None) -> None:
        if run_id is not None:
            self._shard(run_id).put(points, run_id=run_id)
            return
        for run, part in by_run(points).items():
            self._shard(run).put(part, run_id=run)

    def put_block(self, block: PointBlock) -> None:
        self._shard(block.run_id).put_block(block)

    def flush(
        self, timeout_s: float | None = None, *, run_ids: Collection[str] | None = None, report: bool = True
    ) -> None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        if run_ids is None:
            targets = [(shard, None) for shard in self._shards]
        else:
            targets = [(self._shards[i], ids) for i, ids in self._by_shard(run_ids).items()]
        for shard, ids in targets:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            shard.flush(left, run_ids=ids, report=report)

    def take(self, run_ids: Collection[str], *, lost_ok: Collection[str] = ()) -> Taken:
        parts = []
        try:
            for i, ids in self._by_shard(run_ids).items():
                parts.extend(self._shards[i].take(ids, lost_ok=lost_ok)._parts)
        except BaseException:
            Taken(parts).restore()  # a shard refused: give back what the others handed over
            raise
        return Taken(parts)

    def forget(self, run_ids: Iterable[str]) -> None:
        for i, ids in self._by_shard(run_ids).items():
            self._shards[i].forget(ids)

    def failed_runs(self) -> dict[str, BaseException]:
        return {run: exc for shard in self._shards for run, exc in shard.failed_runs().items()}

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

    def stats(self) -> SinkStats:
        return SinkStats(self.pending, self.peak_pending, self.batches_written, len(self._shards))

    def __enter__(self) -> ShardedSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _part(item: _Item, start: int, end: int) -> _Item:
    return item.slice(start, end) if type(item) is PointBlock else item[start:end]


def _runs_of(item: _Item) -> Iterable[str]:
    return (item.run_id,) if type(item) is PointBlock else {p.run_id for p in item}  # type: ignore[union-attr]


def _batch_by_run(entries: Iterable[_Entry]) -> dict[str, list[MetricPoint | PointBlock]]:
    """The entries' points and blocks, per run, each run's in the order they were put."""
    out: dict[str, list[MetricPoint | PointBlock]] = {}
    for _, run, item in entries:
        if type(item) is PointBlock:
            out.setdefault(item.run_id, []).append(item)
        elif run is not None:
            out.setdefault(run, []).extend(item)
        else:
            for point in item:  # type: ignore[union-attr]
                out.setdefault(point.run_id, []).append(point)
    return out


def _entries_runs(entries: Iterable[_Entry]) -> set[str]:
    runs: set[str] = set()
    for _, run, item in entries:
        if run is not None:
            runs.add(run)
        else:
            runs.update(_runs_of(item))
    return runs


_live_sinks: weakref.WeakSet[MetricSink] = weakref.WeakSet()


@atexit.register
def _close_live_sinks() -> None:
    for sink in list(_live_sinks):
        with contextlib.suppress(Exception):  # nothing left to report to at exit
            sink.close()
