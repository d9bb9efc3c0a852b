"""One provider card: logo, name, what it does, status, connected account, allowed actions."""

from __future__ import annotations

import reflex as rx

from tms_console.components.activity_panel import activity_button
from tms_console.components.audit_panel import audit_button
from tms_console.components.browser import run_in_browser
from tms_console.components.card_settings import events_line, target_entry
from tms_console.components.status_badge import status_badge
from tms_console.domain.status import CardStatus
from tms_console.state.connect import ConnectState
from tms_console.state.integrations import CardsState, IntegrationsState
from tms_console.state.setup_panel import SetupState
from tms_console.state.targets import TargetPickerState
from tms_console.state.views import CardView, TargetOption


def _detail(label: str | rx.Var[str], value: rx.Var[str], element_id: rx.Var[str]) -> rx.Component:
    return rx.cond(
        value != "",
        rx.hstack(
            rx.text(label, size="1", color="var(--gray-11)", width="6.5rem"),
            rx.text(value, size="2", id=element_id, weight="medium"),
            spacing="2",
        ),
    )


def _last_delivery(card: rx.Var[CardView]) -> rx.Component:
    """The last delivery's time and outcome; an icon and words (not colour alone) when failing."""
    failing = card.delivery_failing
    return rx.cond(
        card.last_delivery != "",
        rx.hstack(
            rx.cond(failing, rx.icon("triangle-alert", size=14), rx.icon("circle-check", size=14)),
            rx.text(card.last_delivery, size="1"),
            spacing="1",
            align="center",
            color=rx.cond(failing, "var(--red-11)", "var(--gray-11)"),
            title=card.last_delivery_at,
            id="last-delivery-" + card.key,
        ),
    )


def _status_note(card: rx.Var[CardView]) -> rx.Component:
    """Why the integration needs attention and what fixes it, with since when."""
    return rx.cond(
        card.status_note != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("info", size=16)),
            rx.callout.text(card.status_note),
            rx.cond(card.status_since != "", rx.callout.text("Since " + card.status_since, size="1")),
            color_scheme="amber",
            size="1",
            id="status-note-" + card.key,
            width="100%",
        ),
    )


def _install_button(card: rx.Var[CardView], label: str) -> rx.Component:
    """Install (or reconnect) the way the provider works: a redirect, a form, or a popup."""
    href = "/api/console/integrations/" + card.key + "/install?project_id=" + IntegrationsState.project_id
    tenant, project = IntegrationsState.tenant_id, IntegrationsState.project_id
    # A redirect is a full page load, not client-side routing: the backend route sets the binding
    # cookie and answers with a redirect to the provider.
    redirect = run_in_browser(f"window.location.assign({href})")
    popup = run_in_browser(
        f"window.tmsConsole.popup({tenant}, {project}, {card.key}, {card.popup_url}, "
        f"{card.popup_origin}, {card.popup_message_type})"
    )
    return rx.button(
        label,
        id="install-" + card.key,
        size="2",
        on_click=rx.match(
            card.install_kind,
            ("form", ConnectState.open_form(card.key)),
            ("popup", popup),
            redirect,
        ),
    )


def _pick_button(card: rx.Var[CardView]) -> rx.Component:
    return rx.button(
        rx.icon("list-checks", size=14),
        "Choose " + card.target_label.lower(),
        id="pick-" + card.key,
        size="2",
        variant="soft",
        on_click=TargetPickerState.start_pick(card.key),
    )


def _actions(card: rx.Var[CardView]) -> rx.Component:
    busy = CardsState.busy_type == card.key
    uninstall = rx.button(
        rx.cond(busy, rx.spinner(size="1"), rx.icon("unplug", size=14)),
        "Uninstall",
        id="uninstall-" + card.key,
        color_scheme="red",
        variant="soft",
        size="2",
        disabled=busy,
        on_click=CardsState.ask_uninstall(card.key),
    )
    setup = rx.button(
        rx.icon("settings-2", size=14),
        "Setup",
        id="setup-" + card.key,
        size="2",
        variant="ghost",
        color_scheme="gray",
        on_click=SetupState.open_setup(card.key),
    )
    test = rx.button(
        rx.icon("send", size=14),
        "Send test",
        id="test-" + card.key,
        size="2",
        variant="soft",
        loading=CardsState.testing == card.key,
        on_click=CardsState.send_test(card.key),
    )
    actions = rx.match(
        card.status,
        (CardStatus.NOT_CONNECTED.value, _install_button(card, "Install")),
        (
            CardStatus.CONNECTED.value,
            CardStatus.DEGRADED.value,
            rx.hstack(
                rx.cond(card.target_label != "", _pick_button(card)),
                rx.cond(card.can_test, test),
                activity_button(card),
                uninstall,
                spacing="2",
                wrap="wrap",
            ),
        ),
        (
            CardStatus.NEEDS_SETUP.value,
            rx.hstack(_pick_button(card), activity_button(card), uninstall, spacing="2"),
        ),
        (
            CardStatus.NEEDS_RECONNECT.value,
            CardStatus.DISABLED.value,
            rx.hstack(
                _install_button(card, "Reconnect"), activity_button(card), uninstall, spacing="2", wrap="wrap"
            ),
        ),
        (CardStatus.NOT_CONFIGURED.value, rx.text("Ask an administrator to configure it.", size="1")),
        rx.fragment(),
    )
    return rx.hstack(
        actions,
        rx.spacer(),
        rx.cond(card.status != "coming_soon", audit_button(card)),
        rx.cond((card.status != "coming_soon") & (IntegrationsState.user_role == "admin"), setup),
        width="100%",
        align="center",
    )


def _target_option(option: rx.Var[TargetOption]) -> rx.Component:
    group = rx.cond(option.group != "", option.group + " / ", "")
    return rx.select.item(group + option.name, value=option.id)


def _target_picker(card: rx.Var[CardView]) -> rx.Component:
    """Where notifications go: the provider's current list, picked in the card."""
    return rx.cond(
        TargetPickerState.picking == card.key,
        rx.vstack(
            rx.cond(
                TargetPickerState.target_error != "",
                rx.text(TargetPickerState.target_error, size="1", color="var(--red-11)", id="pick-error"),
                rx.cond(
                    card.target_entry,
                    target_entry(card),
                    rx.cond(
                        TargetPickerState.target_options.length() > 0,
                        rx.select.root(
                            rx.select.trigger(
                                placeholder="Pick one",
                                id="target-" + card.key,
                                width="100%",
                                aria_label="Choose " + card.target_label.lower(),
                            ),
                            rx.select.content(rx.foreach(TargetPickerState.target_options, _target_option)),
                            on_change=lambda value: TargetPickerState.save_target(card.key, value),
                        ),
                        rx.hstack(rx.spinner(size="1"), rx.text("Asking the provider…", size="1")),
                    ),
                ),
            ),
            rx.button("Cancel", size="1", variant="ghost", on_click=TargetPickerState.cancel_pick),
            width="100%",
            spacing="2",
        ),
    )


def provider_card(card: rx.Var[CardView]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.image(src=card.logo, width="36px", height="36px", alt=card.name, flex_shrink="0"),
                rx.vstack(
                    rx.heading(card.name, size="3"),
                    rx.cond(card.stand_in, rx.badge("Sandbox", variant="outline", size="1")),
                    spacing="1",
                ),
                rx.spacer(),
                status_badge(card.status, card.key, card.name),
                align="start",
                width="100%",
            ),
            rx.text(card.description, size="2", color="var(--gray-11)"),
            _status_note(card),
            _detail("Account", card.account, "account-" + card.key),
            _detail(
                rx.cond(card.target_label != "", card.target_label, "Channel"),
                card.channel,
                "channel-" + card.key,
            ),
            _detail("Installed by", card.installed_by, "installed-by-" + card.key),
            _detail("Installed", card.installed_at, "installed-at-" + card.key),
            _last_delivery(card),
            events_line(card),
            rx.spacer(),
            _target_picker(card),
            _actions(card),
            spacing="3",
            height="100%",
        ),
        id="card-" + card.key,
        size="2",
    )
