"""The admin's notification setting: which installed integration tells the admins about status changes.

Element ids for tests: `notify-target` (the select), `notify-notice`, `notify-error`.
"""

from __future__ import annotations

import reflex as rx

from tms_console.state.notify import NOBODY, NotifyState


def notify_setting() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon("bell", size=16), rx.heading("Notifications", size="3"), align="center"),
            rx.text(
                "When an integration needs reconnecting, is disabled or fails to deliver, say so once in:",
                size="2",
                color="var(--gray-11)",
            ),
            rx.select.root(
                rx.select.trigger(
                    id="notify-target", width="100%", max_width="20rem", aria_label="Notify admins through"
                ),
                rx.select.content(
                    rx.select.item("Nobody (no notifications)", value=NOBODY),
                    rx.foreach(NotifyState.notify_options, lambda o: rx.select.item(o.label, value=o.id)),
                ),
                value=NotifyState.notify_chosen,
                on_change=NotifyState.choose_notify,
            ),
            rx.cond(
                NotifyState.notify_options.length() == 0,
                rx.text(
                    "Install a webhook or a chat platform in any project to choose it here.",
                    size="1",
                    color="var(--gray-11)",
                ),
            ),
            rx.cond(
                NotifyState.notify_notice != "",
                rx.text(NotifyState.notify_notice, size="1", color="var(--green-11)", id="notify-notice"),
            ),
            rx.cond(
                NotifyState.notify_error != "",
                rx.text(NotifyState.notify_error, size="1", color="var(--red-11)", id="notify-error"),
            ),
            spacing="2",
        ),
        width="100%",
    )
