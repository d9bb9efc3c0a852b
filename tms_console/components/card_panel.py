"""What a card's panels (Activity, Audit) share: the card's button that opens one, the dialog frame
(title, the open integration, Close) and the error callout."""

from __future__ import annotations

from typing import Any, Literal

import reflex as rx

from tms_console.state.views import CardView


def panel_button(
    card: rx.Var[CardView], icon: str, label: str, on_click: Any, variant: Literal["soft", "ghost"]
) -> rx.Component:
    """The card's way into a panel: id `<label in lower case>-<type>`."""
    return rx.button(
        rx.icon(icon, size=14),
        label,
        id=label.lower() + "-" + card.key,
        size="2",
        variant=variant,
        color_scheme="gray",
        on_click=on_click,
    )


def close_button(element_id: str) -> rx.Component:
    return rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray", id=element_id))


def error_callout(message: rx.Var[str], element_id: str) -> rx.Component:
    """The panel's error in plain words, shown only when there is one."""
    return rx.cond(message != "", rx.callout(message, icon="circle-alert", color_scheme="red", id=element_id))


def panel_dialog(
    title: rx.Var[str], integration: rx.Var[str], on_close: Any, *body: rx.Component, element_id: str
) -> rx.Component:
    """The dialog of a panel, open while `integration` names one; closing it calls `on_close`."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            rx.vstack(*body, spacing="3", width="100%"),
            id=element_id,
            data_integration=integration,
            max_width="48rem",
        ),
        open=integration != "",
        on_open_change=lambda _open: on_close,
    )
