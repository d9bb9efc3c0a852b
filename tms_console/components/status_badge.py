"""Status badge: one colour and label per integration status."""

from __future__ import annotations

import reflex as rx

from tms_console.domain.status import CardStatus

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


def status_badge(status: rx.Var[str], key: rx.Var[str]) -> rx.Component:
    return rx.match(
        status,
        *[
            (value.value, rx.badge(label, color_scheme=color, id="status-" + key, size="2"))  # type: ignore[arg-type]
            for value, (label, color) in LABELS.items()
        ],
        rx.badge("Unknown", color_scheme="gray", id="status-" + key),  # type: ignore[arg-type]
    )
