"""Registry webhooks: signed JSON events for registrations, alias moves, stage changes and promotions.

Delivery (`tracking.webhooks.delivery`, which imports httpx) is imported where events are sent.
"""

from __future__ import annotations

from tracking.webhooks.entities import EVENTS, PendingEvent, Webhook, check_events, check_url
from tracking.webhooks.outbox import OutboxStore

__all__ = ["EVENTS", "OutboxStore", "PendingEvent", "Webhook", "check_events", "check_url"]
