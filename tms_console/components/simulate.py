"""Dev and test only: the "Simulate ticket event" control above the cards (hidden in production)."""

from __future__ import annotations

import reflex as rx

from tms_console.domain.events import EVENT_LABELS
from tms_console.state.integrations import IntegrationsState
from tms_console.state.simulate import SimulateState


def simulate_control() -> rx.Component:
    """Pick an event type and have the intake accept a sample of it for this project."""
    picker = rx.select.root(
        rx.select.trigger(id="simulate-type", width="12rem", aria_label="Event type"),
        rx.select.content(
            *[rx.select.item(label, value=value) for value, label in EVENT_LABELS.items()],
        ),
        value=SimulateState.sim_type,
        on_change=SimulateState.set_sim_type,
        size="2",
    )
    answer = rx.box(
        rx.cond(
            SimulateState.sim_error != "",
            rx.text(SimulateState.sim_error, size="2", color="var(--red-11)", id="simulate-error"),
            rx.text(SimulateState.sim_result, size="2", color="var(--green-11)", id="simulate-result"),
        ),
        aria_live="polite",
    )  # announced as it arrives
    return rx.cond(
        SimulateState.simulate_available & (IntegrationsState.project_name != ""),
        rx.hstack(
            rx.badge("Dev", variant="outline", color_scheme="orange"),
            picker,
            rx.button(
                rx.icon("zap", size=14),
                "Simulate ticket event",
                id="simulate-event",
                size="2",
                variant="soft",
                loading=SimulateState.simulating,
                on_click=SimulateState.simulate_event,
            ),
            answer,
            spacing="3",
            align="center",
            wrap="wrap",
            margin_bottom="1rem",
            id="simulate",
        ),
    )
