"""An integration's last delivery as a card shows it: when, how it went, and whether it is failing.

Read from its delivery health row (kept current by each recorded outcome), never from deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tms_console.domain.delivery_reasons import explain
from tms_console.persistence.models import DeliveryHealth

# What became of a failing integration's last delivery, in words.
STATE_WORDS = {
    "retrying": "retrying",
    "failed": "gave up",
    "paused": "paused until reconnected",
}


@dataclass(frozen=True)
class LastDelivery:
    at: str  # ISO 8601, UTC
    status: str  # delivered | retrying | failed | paused
    reason: str  # a reason code, "" when delivered
    failing: bool
    failing_since: str  # ISO 8601, UTC; "" when not failing
    summary: str  # "Delivered 3 min ago" / "Failing since 10:42 UTC (retrying): <the reason in words>"


def of(row: DeliveryHealth, now: datetime) -> LastDelivery:
    at = row.last_delivery_at.astimezone(UTC)
    since = (row.failing_since or at).astimezone(UTC) if row.failing else None
    return LastDelivery(
        at=at.isoformat(),
        status=row.last_status,
        reason=row.last_reason or "",
        failing=row.failing,
        failing_since=since.isoformat() if since else "",
        summary=summary(row.last_status, row.last_reason, at, since, now.astimezone(UTC)),
    )


def summary(status: str, reason: str | None, at: datetime, since: datetime | None, now: datetime) -> str:
    if since is None:
        return f"Delivered {ago(at, now)}"
    state = STATE_WORDS.get(status, status)
    return f"Failing since {clock(since, now)} ({state}): {explain(reason, status=status)}"


def ago(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def clock(moment: datetime, now: datetime) -> str:
    """10:42 UTC today, 2026-12-01 10:42 UTC before."""
    same_day = moment.date() == now.date()
    return moment.strftime("%H:%M UTC" if same_day else "%Y-%m-%d %H:%M UTC")
