"""Dev and test only: "Simulate ticket event" on the integrations page.

The control shows only where the service says simulated events exist (never in production), and the
service refuses them in production anyway. The event is a sample of the picked type for the page's
project, accepted through the real intake; a running worker then delivers it.
"""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from tms_console.domain.errors import ServiceError
from tms_console.domain.events import EVENT_TYPES
from tms_console.domain.reasons import describe
from tms_console.services import simulate
from tms_console.state.integrations import IntegrationsState
from tms_console.state.session import current_identity


def accepted_words(deliveries: int) -> str:
    return f"Event accepted: {deliveries} {'delivery' if deliveries == 1 else 'deliveries'} queued."


class SimulateState(IntegrationsState):
    """The picked event type and the last simulation's answer."""

    sim_type: str = "ticket.created"
    simulating: bool = False
    sim_result: str = ""
    sim_error: str = ""

    @rx.var
    def simulate_available(self) -> bool:
        return simulate.available()

    @rx.event
    def set_sim_type(self, event_type: str) -> None:
        if isinstance(event_type, str) and event_type in EVENT_TYPES:
            self.sim_type = event_type

    @rx.event(background=True)
    async def simulate_event(self) -> EventSpec | None:
        """Accept a sample event of the picked type for this page's project (the service checks both)."""
        async with self:
            identity, project_id, event_type = current_identity(self), self.project_id, self.sim_type
            if identity is None:
                return rx.redirect("/login")
            if self.simulating:
                return None
            self.simulating, self.sim_result, self.sim_error = True, "", ""
        try:
            accepted = await simulate.simulate_event(identity, project_id=project_id, event_type=event_type)
            result, error = accepted_words(accepted.deliveries), ""
        except ServiceError as exc:
            result, error = "", describe(exc.reason, "The console")
        async with self:
            self.simulating, self.sim_result, self.sim_error = False, result, error
        return None
