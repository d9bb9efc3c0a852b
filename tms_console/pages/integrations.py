"""/projects/[project_id]/integrations: one card per provider."""

from __future__ import annotations

import reflex as rx

from tms_console.components.activity_panel import activity_panel
from tms_console.components.audit_panel import audit_panel
from tms_console.components.browser import every, run_in_browser
from tms_console.components.card_settings import event_types_dialog
from tms_console.components.dialogs import connect_dialog, setup_dialog
from tms_console.components.layout import page_frame
from tms_console.components.provider_card import provider_card
from tms_console.components.replace_dialog import replace_dialog
from tms_console.components.simulate import simulate_control
from tms_console.state.integrations import WATCH_SECONDS, CardsState, IntegrationsState

ROUTE = "/projects/[project_id]/integrations"


def flash() -> rx.Component:
    icon = rx.match(
        IntegrationsState.flash_kind, ("success", "circle-check"), ("error", "circle-alert"), "info"
    )
    color = rx.match(IntegrationsState.flash_kind, ("success", "green"), ("error", "red"), "blue")
    return rx.cond(
        IntegrationsState.flash_message != "",
        rx.callout.root(
            rx.callout.icon(rx.icon(icon)),  # type: ignore[arg-type]
            rx.callout.text(IntegrationsState.flash_message),
            rx.cond(
                IntegrationsState.flash_reference != "",
                rx.text(
                    "Reference: ", rx.code(IntegrationsState.flash_reference), size="1", id="flash-reference"
                ),
            ),
            rx.cond(
                IntegrationsState.flash_action != "",
                rx.button(
                    "Ask an administrator to approve",
                    size="1",
                    id="flash-action",
                    on_click=run_in_browser(f"window.location.assign({IntegrationsState.flash_action})"),
                ),
            ),
            rx.button("Dismiss", size="1", variant="ghost", on_click=IntegrationsState.dismiss_flash),
            color_scheme=color,  # type: ignore[arg-type]
            id="flash",
            data_kind=IntegrationsState.flash_kind,
            margin_bottom="1rem",
        ),
    )


def confirm_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Uninstall " + CardsState.confirm_name + "?"),
            rx.alert_dialog.description(
                "The console revokes its access at the provider and forgets the stored tokens. "
                "The audit trail keeps a record."
            ),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button("Keep it", variant="soft", color_scheme="gray", id="uninstall-cancel"),
                ),
                rx.alert_dialog.action(
                    rx.button("Uninstall", color_scheme="red", id="uninstall-confirm"),
                    on_click=CardsState.confirm_uninstall(CardsState.confirm_type),
                ),
                justify="end",
                spacing="3",
                margin_top="1rem",
            ),
        ),
        open=CardsState.confirm_type != "",
        on_open_change=lambda _open: CardsState.cancel_uninstall(),
    )


def skeleton_grid() -> rx.Component:
    return rx.grid(
        *[rx.skeleton(rx.card(rx.box(height="10rem")), loading=True) for _ in range(6)],
        columns=rx.breakpoints(initial="1", sm="2", lg="3"),
        spacing="4",
        id="cards-skeleton",
    )


def body() -> rx.Component:
    return rx.cond(
        IntegrationsState.loading,
        skeleton_grid(),
        rx.cond(
            IntegrationsState.load_error != "",
            rx.callout(
                IntegrationsState.load_error, icon="triangle-alert", color_scheme="red", id="load-error"
            ),
            rx.fragment(
                every(WATCH_SECONDS, CardsState.refresh),  # the cards follow changes made elsewhere
                rx.grid(
                    rx.foreach(CardsState.cards, provider_card),
                    columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                    spacing="4",
                    id="cards",
                ),
            ),
        ),
    )


def title() -> rx.Component:
    return rx.vstack(
        rx.heading(
            rx.cond(IntegrationsState.project_name != "", IntegrationsState.project_name, "Integrations"),
            size="6",
            id="project-name",
        ),
        rx.text(
            "Connect this project to the chat platforms your customers and team use.",
            color="var(--gray-11)",
        ),
        spacing="1",
        margin_bottom="1.25rem",
    )


def first_paint() -> rx.Component:
    """The page as its HTML shows it before any script has run (the app's hydrate fallback: this route
    has a project id in its path, so it is not prerendered): the frame, the title and the cards'
    skeleton, laid out as the page's own first render, so nothing moves when the page takes over."""
    return page_frame(title(), skeleton_grid())


def integrations_page() -> rx.Component:
    return page_frame(
        title(),
        rx.box(flash(), aria_live="polite", id="flash-region"),  # announced as it arrives, focus stays
        simulate_control(),
        body(),
        confirm_dialog(),
        replace_dialog(),
        connect_dialog(),
        setup_dialog(),
        activity_panel(),
        audit_panel(),
        event_types_dialog(),
    )
