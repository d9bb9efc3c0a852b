"""/admin/audit: the tenant's audit trail, filtered, with "Load more" and "Export CSV" (tenant admins only).

Element ids for tests: `audit-filter-project`, `audit-filter-provider`, `audit-filter-action`,
`audit-filter-actor`, `audit-filter-since`, `audit-filter-until`, `audit-clear`, `audit-export`,
`audit-list`, `audit-entry-<id>`, `audit-page-more`, `audit-page-empty`, `audit-page-error`, `admin-denied`.
"""

from __future__ import annotations

import reflex as rx

from tms_console.components.audit_panel import audit_entry
from tms_console.components.layout import page_frame, top_bar
from tms_console.state.admin_audit import ANY, AdminAuditState

ROUTE = "/admin/audit"


def _select(
    element_id: str, anything: str, options: rx.Component, value: rx.Var[str], on_change: object
) -> rx.Component:
    """A filter; its name for assistive technology is what it filters ("Any project" -> "Project")."""
    return rx.select.root(
        rx.select.trigger(id=element_id, aria_label=anything.removeprefix("Any ").capitalize()),
        rx.select.content(rx.select.item(anything, value=ANY), options),
        value=value,
        on_change=on_change,
    )


def _filters() -> rx.Component:
    state = AdminAuditState
    return rx.hstack(
        _select(
            "audit-filter-project",
            "Any project",
            rx.foreach(state.projects, lambda p: rx.select.item(p.name, value=p.id)),
            state.project,
            state.set_project,
        ),
        _select(
            "audit-filter-provider",
            "Any integration",
            rx.foreach(state.providers, lambda p: rx.select.item(p.name, value=p.key)),
            state.provider,
            state.set_provider,
        ),
        _select(
            "audit-filter-action",
            "Any action",
            rx.foreach(state.actions, lambda a: rx.select.item(a.label, value=a.key)),
            state.action,
            state.set_action,
        ),
        rx.input(
            placeholder="Actor (name or id)",
            value=state.actor,
            on_change=state.set_actor.debounce(350),
            id="audit-filter-actor",
            width="100%",
            max_width="14rem",
        ),
        rx.hstack(
            rx.text("From", size="2"),
            rx.input(
                type="date",
                value=state.since_day,
                on_change=state.set_since,
                id="audit-filter-since",
                aria_label="From (date)",
            ),
            rx.text("to", size="2"),
            rx.input(
                type="date",
                value=state.until_day,
                on_change=state.set_until,
                id="audit-filter-until",
                aria_label="To (date)",
            ),
            align="center",
            spacing="2",
            wrap="wrap",
        ),
        rx.button("Clear", size="2", variant="ghost", on_click=state.clear_filters, id="audit-clear"),
        spacing="3",
        wrap="wrap",
        align="center",
    )


def _export() -> rx.Component:
    """The browser downloads the CSV route with the session cookie (every matching event). A plain `<a>`
    would be taken over by the client-side router; Reflex's download event clicks a detached one."""
    return rx.button(
        rx.icon("download", size=14),
        "Export CSV",
        size="2",
        variant="soft",
        on_click=rx.download(url=AdminAuditState.export_url),
        data_url=AdminAuditState.export_url,
        id="audit-export",
    )


def _list() -> rx.Component:
    return rx.cond(
        AdminAuditState.rows.length() > 0,
        rx.vstack(
            rx.foreach(AdminAuditState.rows, lambda row: audit_entry(row, with_place=True)),
            rx.cond(
                AdminAuditState.more,
                rx.button(
                    "Load more",
                    size="2",
                    variant="soft",
                    on_click=AdminAuditState.load_more,
                    id="audit-page-more",
                ),
            ),
            spacing="0",
            width="100%",
            id="audit-list",
        ),
        rx.text("Nothing matches these filters.", color="var(--gray-11)", id="audit-page-empty"),
    )


def _body() -> rx.Component:
    return rx.cond(
        AdminAuditState.denied != "",
        rx.callout(AdminAuditState.denied, icon="shield-alert", color_scheme="red", id="admin-denied"),
        rx.vstack(
            rx.hstack(_filters(), rx.spacer(), _export(), width="100%", align="start", wrap="wrap"),
            rx.cond(
                AdminAuditState.error != "",
                rx.callout(
                    AdminAuditState.error, color_scheme="red", icon="circle-alert", id="audit-page-error"
                ),
            ),
            rx.card(_list(), width="100%"),
            spacing="4",
            width="100%",
        ),
    )


def admin_audit_page() -> rx.Component:
    bar = top_bar(
        "scroll-text",
        "Audit log",
        rx.link("Overview", href="/admin", size="2"),
        rx.link("Back to projects", href="/", size="2"),
        rx.text(AdminAuditState.user_name, size="2"),
    )
    return page_frame(
        rx.cond(AdminAuditState.loading, rx.center(rx.spinner(size="3"), padding="4rem"), _body()), bar=bar
    )
