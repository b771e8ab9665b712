"""The webhooks and webhook_outbox tables (migrations 0004, 0005): subscriptions, queued events, claims.

``enqueue_without_commit`` runs inside the transaction of the registry change it reports, so an
event exists exactly when its change does, whatever happens to the process afterwards.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, and_, case, delete, func, insert, select, update

from tracking.store import schema as t
from tracking.webhooks.entities import EVENTS, DeliveryCounts, Webhook

W, Q = t.webhooks, t.webhook_outbox  # Q: the queue


def insert_webhook(
    conn: Connection, name: str, url: str, sealed: str, events: tuple[str, ...], actor: str, at: int
) -> Webhook:
    values = {"name": name, "url": url, "secret_sealed": sealed, "events": ",".join(events)}
    webhook_id = conn.execute(
        insert(W).values(**values, created_at=at, actor=actor).returning(W.c.webhook_id)
    ).scalar_one()
    return Webhook(int(webhook_id), name, url, events, at, actor)


def list_webhooks(conn: Connection, name: str) -> list[Webhook]:
    rows = conn.execute(select(W).where(W.c.name == name).order_by(W.c.webhook_id)).all()
    counts = _delivery_counts(conn, [r.webhook_id for r in rows])
    return [
        Webhook(r.webhook_id, r.name, r.url, tuple(r.events.split(",")), r.created_at, r.actor, counts[r.webhook_id])
        for r in rows
    ]


def _delivery_counts(conn: Connection, webhook_ids: list[int]) -> dict[int, DeliveryCounts]:
    """Each webhook's events by state, and the last error of its newest undelivered one."""
    if not webhook_ids:
        return {}
    state = case(
        (Q.c.delivered_at.is_not(None), "delivered"), (Q.c.given_up_at.is_not(None), "given_up"), else_="pending"
    )
    tally: dict[int, dict[str, int]] = {i: {} for i in webhook_ids}
    query = (
        select(Q.c.webhook_id, state, func.count())
        .where(Q.c.webhook_id.in_(webhook_ids))
        .group_by(Q.c.webhook_id, state)
    )
    for webhook_id, kind, n in conn.execute(query):
        tally[webhook_id][kind] = int(n)
    newest = (
        select(Q.c.webhook_id, func.max(Q.c.event_id).label("event_id"))
        .where(Q.c.webhook_id.in_(webhook_ids), Q.c.delivered_at.is_(None), Q.c.last_error.is_not(None))
        .group_by(Q.c.webhook_id)
        .subquery()
    )
    errors = dict(
        conn.execute(select(Q.c.webhook_id, Q.c.last_error).join(newest, newest.c.event_id == Q.c.event_id)).all()
    )
    return {i: DeliveryCounts(**tally[i], last_error=errors.get(i)) for i in webhook_ids}


def webhook_url(conn: Connection, name: str, webhook_id: int) -> str | None:
    """The URL of webhook ``webhook_id`` of model ``name``; None when it has no such webhook."""
    return conn.execute(select(W.c.url).where(W.c.name == name, W.c.webhook_id == webhook_id)).scalar()


def delete_webhook_without_commit(conn: Connection, name: str, webhook_id: int) -> str | None:
    """Remove the webhook and its undelivered events; its URL, or None when there is no such webhook."""
    url = webhook_url(conn, name, webhook_id)
    if url is None:
        return None
    conn.execute(delete(Q).where(Q.c.webhook_id == webhook_id, Q.c.delivered_at.is_(None)))
    conn.execute(delete(W).where(W.c.webhook_id == webhook_id))
    return url


def enqueue_without_commit(conn: Connection, name: str, event: str, payload: dict[str, object], at: int) -> int:
    """One outbox row per webhook of ``name`` subscribed to ``event``; how many were queued."""
    if event not in EVENTS:
        return 0
    hooks = conn.execute(select(W.c.webhook_id, W.c.events).where(W.c.name == name)).all()
    rows = [
        {
            "webhook_id": h.webhook_id,
            "event": event,
            "payload": json.dumps({**payload, "webhook_id": h.webhook_id}, sort_keys=True),
            "created_at": at,
            "attempts": 0,
            "next_attempt_at": at,
        }
        for h in hooks
        if event in h.events.split(",")
    ]
    if rows:
        conn.execute(insert(Q), rows)
    return len(rows)


def _pending(since_ms: int | None):  # type: ignore[no-untyped-def]
    condition = and_(Q.c.delivered_at.is_(None), Q.c.given_up_at.is_(None))
    return condition if since_ms is None else and_(condition, Q.c.created_at >= since_ms)


def due_rows(conn: Connection, now_ms: int, limit: int, since_ms: int | None) -> list:  # type: ignore[type-arg]
    query = (
        select(
            Q.c.event_id,
            Q.c.webhook_id,
            Q.c.payload,
            Q.c.attempts,
            Q.c.next_attempt_at,
            Q.c.created_at,
            W.c.url,
            W.c.secret_sealed,
        )
        .join(W, W.c.webhook_id == Q.c.webhook_id)
        .where(_pending(since_ms), Q.c.next_attempt_at <= now_ms)
        .order_by(Q.c.event_id)
        .limit(limit)
    )
    return list(conn.execute(query).all())


def claim_without_commit(conn: Connection, event_id: int, seen_next: int, attempts: int, until_ms: int) -> bool:
    """Take the event for one attempt: only if no one else took it since it was read (compare-and-set)."""
    done = conn.execute(
        update(Q)
        .where(Q.c.event_id == event_id, Q.c.delivered_at.is_(None), Q.c.next_attempt_at == seen_next)
        .values(next_attempt_at=until_ms, attempts=attempts + 1)
    )
    return done.rowcount == 1


def mark_delivered_without_commit(conn: Connection, event_id: int, at_ms: int) -> bool:
    done = conn.execute(
        update(Q)
        .where(Q.c.event_id == event_id, Q.c.delivered_at.is_(None))
        .values(delivered_at=at_ms, last_error=None)
    )
    return done.rowcount == 1


def mark_failed_without_commit(
    conn: Connection, event_id: int, retry_at_ms: int, error: str, given_up_at: int | None = None
) -> None:
    """Record a failed attempt: retried at ``retry_at_ms``, or, with ``given_up_at``, not again."""
    conn.execute(
        update(Q)
        .where(Q.c.event_id == event_id, Q.c.delivered_at.is_(None))
        .values(next_attempt_at=retry_at_ms, last_error=error[:1000], given_up_at=given_up_at)
    )


def requeue_given_up_without_commit(conn: Connection, webhook_id: int, now_ms: int) -> int:
    """Queue a webhook's given-up events again, due now, with a fresh retry period; how many."""
    done = conn.execute(
        update(Q)
        .where(Q.c.webhook_id == webhook_id, Q.c.delivered_at.is_(None), Q.c.given_up_at.is_not(None))
        .values(given_up_at=None, attempts=0, next_attempt_at=now_ms, created_at=now_ms)
    )
    return int(done.rowcount)


def pending_count(conn: Connection, since_ms: int | None) -> int:
    query = select(func.count()).select_from(Q.join(W, W.c.webhook_id == Q.c.webhook_id)).where(_pending(since_ms))
    return int(conn.execute(query).scalar_one())


def next_attempt(conn: Connection, since_ms: int | None) -> int | None:
    query = (
        select(func.min(Q.c.next_attempt_at))
        .select_from(Q.join(W, W.c.webhook_id == Q.c.webhook_id))
        .where(_pending(since_ms))
    )
    found = conn.execute(query).scalar()
    return int(found) if found is not None else None
