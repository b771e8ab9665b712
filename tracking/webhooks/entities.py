"""Frozen records of webhooks and their queued events, and the checks on what a user registers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from tracking.errors import RegistryError

# The registry changes a webhook can subscribe to; each is an audit-log action of the same name.
EVENTS: tuple[str, ...] = ("register", "alias", "stage", "promote")
MAX_URL_CHARS = 2_000


@dataclass(frozen=True, slots=True)
class Webhook:
    """A subscription of ``url`` to ``events`` of model ``name``; the secret never leaves the store."""

    webhook_id: int
    name: str
    url: str
    events: tuple[str, ...]
    created_at: int  # epoch ms
    actor: str
    deliveries: DeliveryCounts | None = None  # filled in by a listing


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """How a webhook's events stand: waiting (or being retried), delivered, and given up."""

    pending: int = 0
    delivered: int = 0
    given_up: int = 0
    last_error: str | None = None  # of the newest event still undelivered, when it failed


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """One queued delivery, claimed by a deliverer; ``secret`` is the unsealed signing secret."""

    event_id: int
    webhook_id: int
    url: str
    secret: str
    payload: str  # the JSON body, exactly as signed and sent
    attempts: int  # including the one this claim starts
    created_at: int = 0  # epoch ms the event was queued: its retry period counts from then


def check_url(url: str) -> str:
    """An absolute ``http://`` or ``https://`` URL with a host; anything else is refused."""
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
        raise RegistryError(f"a webhook URL is a text of at most {MAX_URL_CHARS} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegistryError(f"webhook URL {url!r} must be an http:// or https:// URL with a host")
    return url


def check_events(events: Iterable[str] | str | None) -> tuple[str, ...]:
    """The chosen events (default: all), each one of `EVENTS`, in that order."""
    if events is None:
        return EVENTS
    items = [e.strip() for e in (events.split(",") if isinstance(events, str) else events) if e.strip()]
    unknown = sorted(set(items) - set(EVENTS))
    if unknown or not items:
        raise RegistryError(
            f"unknown webhook event(s) {', '.join(unknown) or '(none given)'}: choose from {','.join(EVENTS)}"
        )
    return tuple(e for e in EVENTS if e in items)


def webhook_to(w: Webhook) -> dict[str, object]:
    """The wire form of a webhook (no secret: it never leaves the store)."""
    wire: dict[str, object] = {
        "webhook_id": w.webhook_id,
        "name": w.name,
        "url": w.url,
        "events": list(w.events),
        "created_at": w.created_at,
        "actor": w.actor,
    }
    if w.deliveries is not None:
        wire["deliveries"] = asdict(w.deliveries)
    return wire


def webhook_from(d: dict[str, object]) -> Webhook:
    counts = d.get("deliveries")
    return Webhook(
        int(d["webhook_id"]),  # type: ignore[call-overload]
        str(d["name"]),
        str(d["url"]),
        tuple(str(e) for e in d["events"]),  # type: ignore[attr-defined]
        int(d["created_at"]),  # type: ignore[call-overload]
        str(d["actor"]),
        DeliveryCounts(**counts) if isinstance(counts, dict) else None,
    )
