"""The last delivery as a card and the overview show it: time, outcome, and failing in words."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tms_console.persistence.models import DeliveryHealth
from tms_console.services import installations, last_delivery, overview
from tms_console.state.views import card_view, overview_rows

NOW = datetime(2026, 12, 2, 10, 50, tzinfo=UTC)


def row(
    status: str, at: datetime, *, reason: str | None = None, since: datetime | None = None
) -> DeliveryHealth:
    failing = status != "delivered"
    return DeliveryHealth(
        integration_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        integration_type="webhook",
        last_delivery_at=at,
        last_status=status,
        last_reason=reason,
        failing=failing,
        failing_since=since if failing else None,
    )


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=20), "Delivered just now"),
        (timedelta(minutes=3, seconds=5), "Delivered 3 min ago"),
        (timedelta(hours=5), "Delivered 5 h ago"),
        (timedelta(days=2, hours=1), "Delivered 2 d ago"),
    ],
)
def test_a_delivered_integration_says_how_long_ago(ago: timedelta, text: str) -> None:
    shown = last_delivery.of(row("delivered", NOW - ago), NOW)
    assert (shown.summary, shown.failing, shown.failing_since, shown.reason) == (text, False, "", "")
    assert shown.at == (NOW - ago).isoformat()


def test_a_failing_integration_says_since_when_why_and_what_happens_next() -> None:
    since = datetime(2026, 12, 2, 10, 42, tzinfo=UTC)
    shown = last_delivery.of(row("retrying", NOW, reason="server_error", since=since), NOW)
    assert (
        shown.summary == "Failing since 10:42 UTC (retrying): "
        "The receiving server had an error (5xx). It is tried again later."
    )
    assert (shown.failing, shown.failing_since, shown.status) == (True, since.isoformat(), "retrying")
    earlier = last_delivery.of(
        row("paused", NOW, reason="invalid_auth", since=since - timedelta(days=1)), NOW
    )
    assert (
        earlier.summary == "Failing since 2026-12-01 10:42 UTC (paused until reconnected): "
        "Slack no longer accepts the app's token. Reconnect Slack."
    )
    gave_up = last_delivery.of(row("failed", NOW, reason="rejected", since=since), NOW)
    assert gave_up.summary.endswith(
        "(gave up): The receiver refused the message as sent (4xx). Retrying would not help."
    )


def test_times_are_shown_in_utc_whatever_the_database_session_s_zone() -> None:
    local = timezone(timedelta(hours=2))
    shown = last_delivery.of(row("failed", NOW, reason="timeout", since=NOW.astimezone(local)), NOW)
    assert shown.summary.startswith("Failing since 10:50 UTC") and shown.failing_since.endswith("+00:00")


def test_the_card_view_carries_the_last_delivery_as_plain_fields() -> None:
    shown = last_delivery.of(row("retrying", NOW, reason="server_error", since=NOW), NOW)
    view = installations.IntegrationView(
        "webhook", "Webhook", "d", "/l.svg", "connected", last_delivery=shown
    )
    card = card_view(view)
    assert (card.last_delivery, card.last_delivery_at, card.delivery_failing) == (
        shown.summary, shown.at, True,
    )  # fmt: skip
    none = card_view(installations.IntegrationView("webhook", "Webhook", "d", "/l.svg", "connected"))
    assert (none.last_delivery, none.last_delivery_at, none.delivery_failing) == ("", "", False)


def test_an_overview_cell_carries_the_failing_mark() -> None:
    result = overview.Overview(
        total_projects=1, matching=1, page=1, page_size=50,
        providers=[overview.ProviderRef("webhook", "Webhook")], by_status={}, by_provider={},
        projects=[overview.ProjectRow("p", "P", "", {"webhook": overview.Cell(
            overview.OverviewBucket.CONNECTED, failing=True, failing_since="2026-12-02 10:42 UTC"
        )})],
        failing=1,
    )  # fmt: skip
    [view] = overview_rows(result)
    assert (view.cells[0].failing, view.cells[0].failing_since) == (True, "2026-12-02 10:42 UTC")
