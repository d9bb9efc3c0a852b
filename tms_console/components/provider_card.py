"""One provider card: logo, name, what it does, status, connected account, allowed actions."""

from __future__ import annotations

import reflex as rx

from tms_console.components.browser import run_in_browser
from tms_console.components.status_badge import status_badge
from tms_console.state.integrations import Card, IntegrationsState


def _detail(label: str, value: rx.Var[str], element_id: rx.Var[str]) -> rx.Component:
    return rx.cond(
        value != "",
        rx.hstack(
            rx.text(label, size="1", color="var(--gray-11)", width="6.5rem"),
            rx.text(value, size="2", id=element_id, weight="medium"),
            spacing="2",
        ),
    )


def _install_button(card: rx.Var[Card], label: str) -> rx.Component:
    href = "/api/console/integrations/" + card["key"] + "/install?project_id=" + IntegrationsState.project_id
    # A full page load, not client-side routing: the backend route sets the binding cookie and
    # answers with a redirect to the provider.
    return rx.button(
        label,
        id="install-" + card["key"],
        size="2",
        on_click=run_in_browser(f"window.location.assign({href})"),
    )


def _actions(card: rx.Var[Card]) -> rx.Component:
    busy = IntegrationsState.busy_type == card["key"]
    uninstall = rx.button(
        rx.cond(busy, rx.spinner(size="1"), rx.icon("unplug", size=14)),
        "Uninstall",
        id="uninstall-" + card["key"],
        color_scheme="red",
        variant="soft",
        size="2",
        disabled=busy,
        on_click=IntegrationsState.ask_uninstall(card["key"]),
    )
    return rx.match(
        card["status"],
        ("not_connected", _install_button(card, "Install")),
        ("connected", rx.hstack(uninstall, spacing="2")),
        ("needs_reconnect", rx.hstack(_install_button(card, "Reconnect"), uninstall, spacing="2")),
        ("not_configured", rx.text("Ask an administrator to configure it.", size="1")),
        rx.fragment(),
    )


def provider_card(card: rx.Var[Card]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.image(src=card["logo"], width="36px", height="36px", alt=card["name"]),
                rx.vstack(
                    rx.heading(card["name"], size="3"),
                    rx.cond(card["sandbox"] == "yes", rx.badge("Sandbox", variant="outline", size="1")),
                    spacing="1",
                ),
                rx.spacer(),
                status_badge(card["status"], card["key"]),
                align="start",
                width="100%",
            ),
            rx.text(card["description"], size="2", color="var(--gray-11)"),
            _detail("Account", card["account"], "account-" + card["key"]),
            _detail("Channel", card["channel"], "channel-" + card["key"]),
            _detail("Installed by", card["installed_by"], "installed-by-" + card["key"]),
            _detail("Installed", card["installed_at"], "installed-at-" + card["key"]),
            rx.spacer(),
            _actions(card),
            spacing="3",
            height="100%",
        ),
        id="card-" + card["key"],
        size="2",
    )
