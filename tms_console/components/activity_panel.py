"""The Activity panel: an integration's recent deliveries, each with its attempts, errors in plain
words and next retry; "Resend" per delivery and "Retry failed" for the integration.

Element ids for tests: `activity-<type>` (the card's button), `activity-panel`, `delivery-<id>`,
`attempts-<id>` (show attempts), `resend-<id>`, `retry-failed-<type>`, `activity-empty`,
`activity-error`, `activity-notice`.
"""

from __future__ import annotations

import reflex as rx

from tms_console.components.card_panel import close_button, error_callout, panel_button, panel_dialog
from tms_console.state.activity import ActivityState, AttemptRow, DeliveryRow
from tms_console.state.views import CardView

STATUS_COLORS = {"delivered": "green", "failed": "red", "paused": "amber", "pending": "blue"}


def activity_button(card: rx.Var[CardView]) -> rx.Component:
    """The card's way in (installed cards only)."""
    return panel_button(card, "history", "Activity", ActivityState.open_activity(card.key), "soft")


def _status(status: rx.Var[str]) -> rx.Component:
    return rx.match(
        status,
        *[(word, rx.badge(word.capitalize(), color_scheme=color)) for word, color in STATUS_COLORS.items()],  # type: ignore[arg-type]
        rx.badge(status),
    )


def _attempt(attempt: rx.Var[AttemptRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell("#", attempt.number.to_string()),
        rx.table.cell(attempt.when),
        rx.table.cell(
            attempt.outcome, rx.cond(attempt.http_status != "", " (" + attempt.http_status + ")", "")
        ),
        rx.table.cell(attempt.duration),
        rx.table.cell(
            rx.text(attempt.explanation, size="1"),
            rx.cond(attempt.next_retry != "", rx.text("Next retry: " + attempt.next_retry, size="1")),
        ),
    )


def _attempts(row: rx.Var[DeliveryRow]) -> rx.Component:
    return rx.cond(
        ActivityState.opened_delivery == row.id,
        rx.cond(
            ActivityState.opened_attempts.length() > 0,
            rx.table.root(
                rx.table.body(rx.foreach(ActivityState.opened_attempts, _attempt)),
                size="1",
                width="100%",
                id="attempt-list-" + row.id,
            ),
            rx.text("No attempt yet.", size="1", color="var(--gray-11)"),
        ),
    )


def _delivery(row: rx.Var[DeliveryRow]) -> rx.Component:
    resend = rx.button(
        "Resend",
        id="resend-" + row.id,
        size="1",
        variant="soft",
        loading=ActivityState.busy_delivery == row.id,
        on_click=ActivityState.resend_delivery(row.id),
    )
    return rx.box(
        rx.hstack(
            rx.vstack(
                rx.hstack(rx.text(row.event, weight="medium", size="2"), _status(row.status), spacing="2"),
                rx.text(row.ticket, size="1", color="var(--gray-11)"),
                rx.text(row.when, size="1", color="var(--gray-11)"),
                spacing="0",
            ),
            rx.spacer(),
            rx.button(
                rx.cond(ActivityState.opened_delivery == row.id, "Hide attempts", "Attempts"),
                id="attempts-" + row.id,
                size="1",
                variant="ghost",
                on_click=ActivityState.toggle_attempts(row.id),
            ),
            rx.cond(row.can_resend, resend),
            width="100%",
            align="center",
        ),
        rx.cond(row.status != "delivered", rx.text(row.explanation, size="1")),
        rx.cond(row.next_retry != "", rx.text("Next retry: " + row.next_retry, size="1")),
        _attempts(row),
        id="delivery-" + row.id,
        data_status=row.status,
        padding="0.5rem 0",
        border_bottom="1px solid var(--gray-4)",
        width="100%",
    )


def _messages() -> rx.Component:
    """Resend and retry outcomes, announced as they arrive (a polite live region that is always there)."""
    return rx.box(
        error_callout(ActivityState.activity_error, "activity-error"),
        rx.cond(
            ActivityState.activity_notice != "",
            rx.callout(
                ActivityState.activity_notice, icon="circle-check", color_scheme="green", id="activity-notice"
            ),
        ),
        aria_live="polite",
        width="100%",
    )


def _list() -> rx.Component:
    return rx.cond(
        ActivityState.activity_loading & (ActivityState.activity_rows.length() == 0),
        rx.hstack(rx.spinner(size="2"), rx.text("Loading deliveries…", size="2"), id="activity-loading"),
        rx.cond(
            ActivityState.activity_rows.length() > 0,
            rx.vstack(
                rx.foreach(ActivityState.activity_rows, _delivery),
                rx.text(
                    "Showing the ",
                    ActivityState.activity_rows.length().to_string(),
                    " most recent of ",
                    ActivityState.activity_total.to_string(),
                    ".",
                    size="1",
                    color="var(--gray-11)",
                ),
                spacing="0",
                width="100%",
                max_height="60vh",
                overflow_y="auto",
            ),
            rx.text(
                "No deliveries yet. Ticket events of this project appear here once they are sent.",
                size="2",
                color="var(--gray-11)",
                id="activity-empty",
            ),
        ),
    )


def _actions() -> rx.Component:
    return rx.hstack(
        rx.button(
            rx.icon("rotate-ccw", size=14),
            "Retry failed",
            id="retry-failed-" + ActivityState.activity_type,
            size="2",
            variant="soft",
            loading=ActivityState.retrying,
            on_click=ActivityState.retry_failed,
        ),
        rx.button(
            rx.icon("refresh-cw", size=14),
            "Refresh",
            id="activity-refresh",
            size="2",
            variant="ghost",
            loading=ActivityState.activity_loading,
            on_click=ActivityState.refresh_activity,
        ),
        rx.spacer(),
        close_button("activity-close"),
        width="100%",
    )


def activity_panel() -> rx.Component:
    """The dialog; open while `ActivityState.activity_type` names an integration."""
    return panel_dialog(
        "Activity: " + ActivityState.activity_name,
        ActivityState.activity_type,
        ActivityState.close_activity(),
        _actions(),
        _messages(),
        _list(),
        element_id="activity-panel",
    )
