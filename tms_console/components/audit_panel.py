"""The Audit panel: an integration's trail, newest first, with "Load more"; and the row both it and the
admin's audit page show (what, why in plain words, who, from where, when in UTC).

Element ids for tests: `audit-<type>` (the card's button), `audit-panel`, `audit-entry-<id>` (with
`data-action`), `audit-more`, `audit-empty`, `audit-error`, `audit-close`.
"""

from __future__ import annotations

import reflex as rx

from tms_console.components.card_panel import close_button, error_callout, panel_button, panel_dialog
from tms_console.state.audit import AuditPanelState, AuditRow
from tms_console.state.views import CardView


def audit_button(card: rx.Var[CardView]) -> rx.Component:
    """The card's way in (every available provider: the trail outlives an uninstall)."""
    return panel_button(card, "scroll-text", "Audit", AuditPanelState.open_audit(card.key), "ghost")


def audit_entry(row: rx.Var[AuditRow], *, with_place: bool = False) -> rx.Component:
    """One event; `with_place` adds its project and provider (the tenant-wide page)."""
    place = rx.text(row.project + " · " + row.provider, size="1", weight="medium") if with_place else None
    origin = rx.cond(
        row.ip != "",
        rx.text("from " + row.ip, size="1", color="var(--gray-11)"),
    )
    return rx.box(
        rx.hstack(
            rx.vstack(
                *([place] if place is not None else []),
                rx.hstack(
                    rx.text(row.label, weight="medium", size="2"),
                    rx.cond(row.change != "", rx.badge(row.change, variant="soft", size="1")),
                    spacing="2",
                    align="center",
                ),
                rx.cond(row.explanation != "", rx.text(row.explanation, size="1")),
                spacing="1",
            ),
            rx.spacer(),
            rx.vstack(
                rx.text(row.when, size="1", color="var(--gray-11)"),
                rx.text("by " + row.actor, size="1"),
                origin,
                rx.cond(
                    row.agent != "",
                    rx.text(row.agent, size="1", color="var(--gray-11)", title=row.agent_full),
                ),
                spacing="0",
                align="end",
            ),
            width="100%",
            align="start",
        ),
        id="audit-entry-" + row.id,
        data_action=row.action,
        class_name="audit-entry",
        padding="0.5rem 0",
        border_bottom="1px solid var(--gray-4)",
        width="100%",
    )


def _list() -> rx.Component:
    return rx.cond(
        AuditPanelState.audit_rows.length() > 0,
        rx.vstack(
            rx.foreach(AuditPanelState.audit_rows, audit_entry),
            rx.cond(
                AuditPanelState.audit_more,
                rx.button(
                    "Load more",
                    id="audit-more",
                    size="1",
                    variant="soft",
                    loading=AuditPanelState.audit_loading,
                    on_click=AuditPanelState.more_audit,
                ),
            ),
            spacing="0",
            width="100%",
            max_height="60vh",
            overflow_y="auto",
        ),
        rx.cond(
            AuditPanelState.audit_loading,
            rx.hstack(rx.spinner(size="2"), rx.text("Loading…", size="2")),
            rx.text("Nothing recorded yet.", size="2", color="var(--gray-11)", id="audit-empty"),
        ),
    )


def audit_panel() -> rx.Component:
    """The dialog; open while `AuditPanelState.audit_type` names an integration."""
    return panel_dialog(
        "Audit: " + AuditPanelState.audit_name,
        AuditPanelState.audit_type,
        AuditPanelState.close_audit(),
        error_callout(AuditPanelState.audit_error, "audit-error"),
        _list(),
        rx.hstack(rx.spacer(), close_button("audit-close"), width="100%"),
        element_id="audit-panel",
    )
