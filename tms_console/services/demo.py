"""The demo login (dev and test only, when DEMO_LOGIN=1): the seeded identities, and signing in as one."""

from __future__ import annotations

from dataclasses import dataclass

from tms_console.domain.errors import NotFound
from tms_console.domain.reasons import Reason
from tms_console.persistence import repository
from tms_console.security.identity import Identity, issue_token
from tms_console.services.tenancy import parse_uuid
from tms_console.services.unit_of_work import unit_of_work
from tms_console.settings import get_settings


@dataclass(frozen=True)
class DemoUser:
    id: str
    name: str
    email: str
    role: str
    tenant: str


def demo_login_enabled() -> bool:
    """Only when asked for (DEMO_LOGIN=1); production refuses to start with it."""
    return get_settings().demo_login


async def list_demo_users() -> list[DemoUser]:
    async with unit_of_work() as session:
        rows = await repository.list_users(session)
    return [DemoUser(str(u.id), u.name, u.email, u.role, t.name) for u, t in rows]


def demo_users_at_build() -> list[DemoUser]:
    """The seeded identities when the login page is compiled, so they are in its HTML at first paint
    (the page still loads the current list). None when the demo login is off: production never asks."""
    settings = get_settings()
    if not settings.demo_login or not settings.database_url:
        return []
    rows = repository.list_users_blocking(settings.database_url)
    return [DemoUser(str(u.id), u.name, u.email, u.role, t.name) for u, t in rows]


async def sign_in(user_id: str) -> tuple[str, str | None]:
    """A session token for a seeded user, and the first project of their tenant (if any)."""
    if not demo_login_enabled():
        raise NotFound(Reason.NOT_FOUND, "not found")
    async with unit_of_work() as session:
        user = await repository.get_user(session, user_id=parse_uuid(user_id))
        if user is None:
            raise NotFound(Reason.NOT_FOUND, "not found")
        projects = await repository.list_projects(session, tenant_id=user.tenant_id)
    identity = Identity(
        user_id=str(user.id),
        name=user.name,
        tenant_id=user.tenant_id,
        role="admin" if user.role == "admin" else "agent",
    )
    first = str(projects[0].id) if projects else None
    return issue_token(identity, get_settings()), first
