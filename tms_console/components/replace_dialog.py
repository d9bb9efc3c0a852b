"""The wrong-account guard's question: replace the installed account with the new one, or keep it."""

from __future__ import annotations

import reflex as rx

from tms_console.state.replace import ReplaceState

# Both buttons name the accounts, which can be long: they wrap onto more lines instead of overlapping.
_WRAPPING = {"height": "auto", "min_height": "2rem", "white_space": "normal", "padding_y": "0.35rem"}


def replace_dialog() -> rx.Component:
    """Keeping the old account is the default: the first button, focused, and closing the dialog."""
    expected, found = ReplaceState.replace_expected, ReplaceState.replace_found
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Replace " + expected + " with " + found + "?"),
            rx.alert_dialog.description(
                ReplaceState.replace_provider + " is connected to " + expected + " here, but you signed in "
                "to " + found + ". Nothing was changed. Replacing moves this integration, its event "
                "subscriptions and its history to "
                + found
                + " and revokes the console's access to "
                + expected
                + "; its channel must be chosen again.",
                id="replace-question",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button(
                        "Keep " + expected,
                        variant="soft",
                        color_scheme="gray",
                        id="replace-refuse",
                        **_WRAPPING,
                        loading=ReplaceState.deciding,
                        on_click=ReplaceState.decide(False),
                    ),
                ),
                rx.button(
                    "Replace " + expected + " with " + found,
                    color_scheme="red",
                    id="replace-confirm",
                    **_WRAPPING,
                    loading=ReplaceState.deciding,
                    on_click=ReplaceState.decide(True),
                ),
                justify="end",
                spacing="3",
                wrap="wrap",
                margin_top="1rem",
            ),
        ),
        open=ReplaceState.replace_type != "",
        on_open_change=lambda _open: ReplaceState.keep_old(),
    )
