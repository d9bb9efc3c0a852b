"""The idempotent demo seed: two tenants, three projects each, an agent and an admin per tenant.

Ids are derived from names (uuid5), so running it again changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.persistence.models import Project, Tenant, User

NAMESPACE = uuid.UUID("7f1d3c2e-9a4b-4c55-8e21-3b6a0d9f4c10")

DEMO: dict[str, dict[str, Any]] = {
    "Acme": {
        "projects": ["Customer Support", "Billing Desk", "Onboarding"],
        "users": [("Alice Agent", "alice@acme.example", "agent"), ("Ada Admin", "ada@acme.example", "admin")],
    },
    "Globex": {
        "projects": ["Helpdesk", "Field Service", "VIP Care"],
        "users": [
            ("Gary Agent", "gary@globex.example", "agent"),
            ("Greta Admin", "greta@globex.example", "admin"),
        ],
    },
}


def demo_id(*names: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join(names))


async def seed(session: AsyncSession) -> None:
    for tenant_name, data in DEMO.items():
        tenant_id = demo_id(tenant_name)
        await _insert(session, Tenant, id=tenant_id, name=tenant_name)
        for project in data["projects"]:
            await _insert(
                session, Project, id=demo_id(tenant_name, project), tenant_id=tenant_id, name=project
            )
        for name, email, role in data["users"]:
            await _insert(
                session,
                User,
                id=demo_id(tenant_name, email),
                tenant_id=tenant_id,
                name=name,
                email=email,
                role=role,
            )


async def _insert(session: AsyncSession, model: type, **values: object) -> None:
    await session.execute(insert(model).values(**values).on_conflict_do_nothing())
