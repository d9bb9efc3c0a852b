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
            rx.el.label(
                "When an integration needs reconnecting, is disabled or fails to deliver, say so once in:",
                html_for="notify-target",
                class_name="rt-Text rt-r-size-2",
                color="var(--gray-11)",
            ),
            # The browser's own select: a Radix select renders every item (200 options here) into the page
            # even while closed, which froze the page for 150-450 ms when they arrived; a native one costs
            # one plain element per option and brings its own keyboard and screen reader behaviour.
            rx.el.select(
                rx.el.option("Nobody (no notifications)", value=NOBODY),
                rx.foreach(NotifyState.notify_options, lambda o: rx.el.option(o.label, value=o.id)),
                id="notify-target",
                class_name="native-select",
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
