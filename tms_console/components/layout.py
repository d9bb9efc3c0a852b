"""The shared page frame: header with project switcher and user, then the page body."""

from __future__ import annotations

import reflex as rx

from tms_console.components.browser import run_in_browser
from tms_console.state.integrations import IntegrationsState


def sign_out_button() -> rx.Component:
    sign_out = run_in_browser(
        "fetch('/api/session', {method: 'DELETE', credentials: 'same-origin'})"
        ".then(() => window.location.assign('/login'))"
    )
    return rx.button("Sign out", variant="ghost", size="2", id="sign-out", on_click=sign_out)


def project_switcher() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(
            placeholder="Project", id="project-switcher", min_width="14rem", aria_label="Project"
        ),
        rx.select.content(
            rx.foreach(
                IntegrationsState.projects,
                lambda p: rx.select.item(p.name, value=p.id),
            )
        ),
        value=IntegrationsState.project_id,
        on_change=IntegrationsState.switch_project,
    )


def top_bar(icon: str, title: str, *items: rx.Component) -> rx.Component:
    """The bar on top of every signed-in page: what it is, then the page's own items, then sign-out."""
    return rx.hstack(
        rx.hstack(rx.icon(icon, size=22), rx.heading(title, size="4"), align="center", spacing="2"),
        rx.spacer(),
        *items,
        sign_out_button(),
        align="center",
        spacing="4",
        wrap="wrap",  # reflow: at 320 CSS px (or 400 % zoom) the items go to a second line
        padding_x=rx.breakpoints(initial="0.75rem", sm="1.5rem"),
        padding_y="0.75rem",
        border_bottom="1px solid var(--gray-5)",
        width="100%",
    )


def page_frame(*children: rx.Component, bar: rx.Component | None = None) -> rx.Component:
    return rx.box(
        bar if bar is not None else header(),
        rx.container(*children, size="4", padding_y="1.5rem"),
        min_height="100vh",
        background="var(--gray-2)",
    )


def header() -> rx.Component:
    return top_bar(
        "plug-zap",
        "TMS Integrations",
        project_switcher(),
        # A fixed width: who is signed in arrives after first paint and must not push the switcher.
        rx.hstack(
            rx.cond(
                IntegrationsState.user_role == "admin",
                rx.link("Overview", href="/admin", size="2", id="admin-link"),
            ),
            rx.cond(  # appears whole once known (an element growing from empty counts as a shift)
                IntegrationsState.user_name != "",
                rx.fragment(
                    rx.text(IntegrationsState.user_name, size="2", id="current-user", truncate=True),
                    rx.badge(IntegrationsState.user_role, variant="soft"),
                ),
            ),
            align="center",
            justify="end",
            spacing="4",
            width="20rem",
            height="2rem",
        ),
    )
