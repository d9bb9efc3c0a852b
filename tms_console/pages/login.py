"""/login: the demo login (pick a seeded identity); in production the TMS hands over a JWT."""

from __future__ import annotations

import reflex as rx

from tms_console.components.browser import run_in_browser
from tms_console.state.login import LoginState, demo_users_at_build
from tms_console.state.views import DemoUserView

ROUTE = "/login"


def _sign_in_as(user_id: rx.Var[str]) -> rx.event.EventSpec:
    """POST the demo login from the browser (Reflex forms never submit natively), then follow it."""
    return run_in_browser(
        "fetch('/api/session/demo', {method: 'POST', credentials: 'same-origin', "
        f"body: new URLSearchParams({{user_id: {user_id}}})}})"
        ".then(r => window.location.assign(r.ok ? r.url : '/login'))"
    )


def user_row(user: rx.Var[DemoUserView]) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.avatar(fallback=user.name[:1], size="3"),
            rx.vstack(
                rx.text(user.name, weight="medium"),
                rx.text(user.email, size="1", color="var(--gray-11)"),
                spacing="0",
            ),
            rx.spacer(),
            rx.badge(user.tenant, variant="soft"),
            rx.badge(user.role, color_scheme=rx.cond(user.role == "admin", "purple", "blue")),
            rx.button(
                "Sign in",
                id="login-" + user.email.split("@")[0],
                on_click=_sign_in_as(user.id),
            ),
            align="center",
            width="100%",
            spacing="3",
            wrap="wrap",  # reflow at 320 CSS px
        ),
        width="100%",
    )


def users() -> rx.Component:
    """The users known when the page was compiled are in its HTML (content at first paint); the
    current list from the page's load takes their place in the same rows (one list, keyed by position:
    the buttons stay where they are, nothing is re-created under the pointer)."""
    compiled = rx.Var.create(demo_users_at_build())
    shown = rx.cond(LoginState.loaded, LoginState.users, compiled).to(list[DemoUserView])
    return rx.foreach(shown, user_row)


def login_page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(rx.icon("plug-zap", size=26), rx.heading("TMS Integrations", size="6")),
                rx.cond(
                    LoginState.demo_enabled,
                    rx.vstack(
                        rx.text("Demo sign-in: pick who you are.", color="var(--gray-11)"),
                        rx.cond(LoginState.error != "", rx.callout(LoginState.error, color_scheme="red")),
                        users(),
                        spacing="3",
                        width="100%",
                    ),
                    rx.text("Open the console from your TMS to sign in.", id="prod-login"),
                ),
                spacing="4",
                width="100%",
            ),
            width="100%",
            max_width="34rem",
            size="3",
        ),
        min_height="100vh",
        background="var(--gray-2)",
    )
