"""Status badge: one colour and label per integration status."""

from __future__ import annotations

import reflex as rx

LABELS = {
    "connected": ("Connected", "green"),
    "needs_reconnect": ("Needs reconnect", "amber"),
    "needs_setup": ("Needs setup", "blue"),
    "not_connected": ("Not connected", "gray"),
    "not_configured": ("Not configured", "orange"),
    "coming_soon": ("Coming soon", "violet"),
}


def status_badge(status: rx.Var[str], key: rx.Var[str]) -> rx.Component:
    return rx.match(
        status,
        *[
            (value, rx.badge(label, color_scheme=color, id="status-" + key, size="2"))  # type: ignore[arg-type]
            for value, (label, color) in LABELS.items()
        ],
        rx.badge("Unknown", color_scheme="gray", id="status-" + key),  # type: ignore[arg-type]
    )
