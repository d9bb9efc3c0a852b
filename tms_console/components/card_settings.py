"""A card's settings beside its actions: the ticket events it receives (and their editor), and a typed
target (WhatsApp's recipient number). Kept apart from provider_card.py, which only places them."""

from __future__ import annotations

import reflex as rx

from tms_console.state.event_types import EventTypesState
from tms_console.state.targets import TargetPickerState
from tms_console.state.views import CardView, EventChoice


def events_line(card: rx.Var[CardView]) -> rx.Component:
    """ "Receives: All ticket events  Edit" on an installed card."""
    return rx.cond(
        card.events_summary != "",
        rx.hstack(
            rx.text("Receives", size="1", color="var(--gray-11)", width="6.5rem", flex_shrink="0"),
            rx.text(card.events_summary, size="2", id="events-" + card.key, weight="medium"),
            rx.button(
                "Edit",
                size="1",
                variant="ghost",
                id="edit-events-" + card.key,
                on_click=EventTypesState.open_events(card.key),
            ),
            spacing="2",
            align="center",
        ),
    )


def _choice(choice: rx.Var[EventChoice]) -> rx.Component:
    return rx.checkbox(
        choice.label,
        checked=choice.picked,
        on_change=lambda _checked: EventTypesState.toggle_event(choice.value),
        id="event-" + choice.slug,
        size="2",
    )


def event_types_dialog() -> rx.Component:
    """Tick the ticket events one integration receives; at least one (to receive none, uninstall)."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Ticket events for " + EventTypesState.editing_name),
            rx.dialog.description(
                "Messages go out only for the events ticked here.", size="2", margin_bottom="0.75rem"
            ),
            rx.vstack(rx.foreach(EventTypesState.choices, _choice), spacing="2", id="event-choices"),
            rx.cond(
                EventTypesState.events_error != "",
                rx.text(EventTypesState.events_error, size="1", color="var(--red-11)", id="events-error"),
            ),
            rx.hstack(
                rx.button(
                    "Cancel",
                    variant="soft",
                    color_scheme="gray",
                    id="events-cancel",
                    on_click=EventTypesState.close_events,
                ),
                rx.button(
                    "Save",
                    id="events-save",
                    loading=EventTypesState.saving_events,
                    on_click=EventTypesState.save_events,
                ),
                justify="end",
                spacing="3",
                margin_top="1rem",
            ),
            max_width="26rem",
        ),
        open=EventTypesState.editing != "",
        on_open_change=lambda _open: EventTypesState.close_events(),
    )


def target_entry(card: rx.Var[CardView]) -> rx.Component:
    """Type the target (a recipient's phone number) where there is no list to pick from."""
    return rx.form(
        rx.vstack(
            rx.input(
                name="target",
                id="target-entry-" + card.key,
                placeholder="+15551234567",
                type="tel",
                auto_complete="off",
                width="100%",
            ),
            rx.cond(
                TargetPickerState.entry_error != "",
                rx.text(TargetPickerState.entry_error, size="1", color="var(--red-11)", id="entry-error"),
            ),
            rx.button("Save", type="submit", size="2", id="target-save-" + card.key),
            spacing="2",
            width="100%",
        ),
        on_submit=TargetPickerState.save_entered,
        reset_on_submit=False,
        width="100%",
    )
