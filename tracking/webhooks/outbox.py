"""What a deliverer needs from a store holding the durable outbox (the SQL registry store does)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from tracking.webhooks.entities import PendingEvent


@runtime_checkable
class OutboxStore(Protocol):
    """Claims are exclusive: a claimed event is not handed to another deliverer until ``lease_ms`` passes."""

    def claim_events(self, *, now_ms: int, lease_ms: int, limit: int, since_ms: int | None) -> list[PendingEvent]:
        """Due, undelivered events (created at or after ``since_ms`` when given), oldest first."""
        ...

    def mark_delivered(self, event_id: int, *, at_ms: int) -> bool:
        """Record a success; False when it was already recorded (it counts once)."""
        ...

    def mark_failed(self, event_id: int, *, retry_at_ms: int, error: str, give_up: bool = False) -> None:
        """Record a failed attempt: due again at ``retry_at_ms``, or with ``give_up`` never again
        (until redelivered); no longer pending either way."""
        ...

    def pending_events(self, *, since_ms: int | None) -> int:
        """How many events are undelivered (created at or after ``since_ms`` when given)."""
        ...

    def next_attempt_ms(self, *, since_ms: int | None) -> int | None:
        """When the earliest undelivered event is due; None when there is none."""
        ...
