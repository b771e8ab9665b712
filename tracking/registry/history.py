"""Who held which alias or stage when: intervals rebuilt from the registry's audit log.

Answers "which version was @champion (or in Production) at time T" for any T since the model
existed; the audit log is the only source, so the answer is what was recorded, not a guess.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from tracking.errors import RegistryError
from tracking.registry.entities import AuditEntry

__all__ = ["Holding", "held_at", "holdings", "parse_time"]


@dataclass(frozen=True, slots=True)
class Holding:
    """``version`` held ``subject`` (``@alias`` or a stage name) from ``since`` until ``until`` (None: still)."""

    subject: str
    version: int
    since: int  # epoch ms
    until: int | None
    actor: str  # who moved it there
    reason: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "version": self.version,
            "since": _iso(self.since),
            "until": _iso(self.until) if self.until is not None else None,
            "actor": self.actor,
            "reason": self.reason,
        }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def parse_time(text: str, *, created_at: int, now_ms: int | None = None) -> int:
    """An ISO-8601 time (naive means UTC) as epoch ms; refused in the future or before ``created_at``."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RegistryError(
            f"bad time {text!r}: use ISO-8601, e.g. 2026-01-31T14:00:00Z or 2026-01-31 14:00:00+01:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    at = round(moment.timestamp() * 1000)  # round: float seconds * 1000 can land just below the ms
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if at > now:
        raise RegistryError(f"time {text!r} is in the future; the audit log knows only the past")
    if at < created_at:
        raise RegistryError(f"time {text!r} is before the model existed (created {_iso(created_at)})")
    return at


def holdings(entries: list[AuditEntry]) -> list[Holding]:
    """Every interval during which a version held an alias or a stage, oldest first."""
    opened: dict[tuple[str, int], AuditEntry] = {}  # (subject, version) -> the entry that started it
    alias_at: dict[str, int] = {}  # alias -> version now
    out: list[Holding] = []

    def close(subject: str, version: int, at: int) -> None:
        start = opened.pop((subject, version), None)
        if start is not None:
            out.append(Holding(subject, version, start.at, at, start.actor, start.reason))

    for e in sorted(entries, key=lambda x: (x.at, x.id)):
        if e.action == "alias" and e.subject:
            subject = f"@{e.subject}"
            previous = alias_at.pop(e.subject, None)
            if previous is not None:
                close(subject, previous, e.at)
            if e.to_value is not None:
                alias_at[e.subject] = int(e.to_value)
                opened[(subject, int(e.to_value))] = e
        elif e.action == "stage" and e.version is not None:
            if e.from_value:
                close(e.from_value, e.version, e.at)
            if e.to_value and e.to_value != "None":
                opened[(e.to_value, e.version)] = e
        elif e.action == "delete" and e.version is not None:
            for subject, version in [k for k in opened if k[1] == e.version and not k[0].startswith("@")]:
                close(subject, version, e.at)
    out.extend(Holding(s, v, e.at, None, e.actor, e.reason) for (s, v), e in opened.items())
    return sorted(out, key=lambda h: (h.since, h.subject, h.version))


def held_at(intervals: list[Holding], at: int) -> list[Holding]:
    """The holdings in force at ``at`` (epoch ms), by subject."""
    return sorted(
        (h for h in intervals if h.since <= at and (h.until is None or at < h.until)),
        key=lambda h: (h.subject, h.version),
    )
