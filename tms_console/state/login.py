"""The demo login page: which seeded identities exist (no tokens ever pass through state)."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from tms_console.domain.errors import ServiceError
from tms_console.domain.reasons import describe
from tms_console.services import demo, installations
from tms_console.state.session import current_identity
from tms_console.state.views import DemoUserView, demo_user_views


def demo_users_at_build() -> list[DemoUserView]:
    """The seeded identities as the page is compiled: its HTML shows them before the websocket is up."""
    return demo_user_views(demo.demo_users_at_build())


class LoginState(rx.State):
    users: list[DemoUserView] = []
    loaded: bool = False  # `users` holds the current list (until then the page shows the compiled one)
    demo_enabled: bool = True
    signed_in_as: str = ""
    error: str = ""

    @rx.event
    async def load(self) -> None:
        identity = current_identity(self)
        self.signed_in_as = identity.name if identity else ""
        self.demo_enabled = demo.demo_login_enabled()
        if not self.demo_enabled:
            return
        try:
            users = await demo.list_demo_users()
        except ServiceError as exc:
            self.error, self.loaded = describe(exc.reason, "The console"), True
            return
        self.users, self.loaded = demo_user_views(users), True


class HomeState(rx.State):
    @rx.event
    async def route(self) -> EventSpec:
        """`/`: signed in -> the first project's integrations; otherwise the login page."""
        identity = current_identity(self)
        if identity is None:
            return rx.redirect("/login")
        try:
            projects = await installations.list_projects(identity)
        except ServiceError:
            projects = []
        if not projects:
            return rx.redirect("/login")
        return rx.redirect(f"/projects/{projects[0].id}/integrations")
