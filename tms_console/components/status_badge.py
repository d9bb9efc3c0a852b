"""Status badge: one label (never colour alone) and colour per integration status, in a polite live
region, so a change that arrives over the websocket is announced with the provider's name."""

from __future__ import annotations

import reflex as rx

from tms_console.domain.status import CardStatus

# Colours whose soft badge text reaches 4.5:1 on the card (Radix step 11 on step 3, light theme).
LABELS: dict[CardStatus, tuple[str, str]] = {
    CardStatus.CONNECTED: ("Connected", "green"),
    CardStatus.NEEDS_RECONNECT: ("Needs reconnect", "amber"),
    CardStatus.NEEDS_SETUP: ("Needs setup", "blue"),
    CardStatus.DEGRADED: ("Degraded", "amber"),
    CardStatus.DISABLED: ("Disabled", "gray"),
    CardStatus.NOT_CONNECTED: ("Not connected", "gray"),
    CardStatus.NOT_CONFIGURED: ("Not configured", "orange"),
    CardStatus.COMING_SOON: ("Coming soon", "violet"),
}


def status_badge(status: rx.Var[str], key: rx.Var[str], name: rx.Var[str] | str = "") -> rx.Component:
    badge = rx.match(
        status,
        *[
            (value.value, rx.badge(label, color_scheme=color, id="status-" + key, size="2"))  # type: ignore[arg-type]
            for value, (label, color) in LABELS.items()
        ],
        rx.badge("Unknown", color_scheme="gray", id="status-" + key),  # type: ignore[arg-type]
    )
    return rx.el.span(
        rx.el.span(name, " status: ", class_name="sr-only"), badge, aria_live="polite", aria_atomic="true"
    )
