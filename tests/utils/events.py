"""Ticket events as the TMS posts them, the TMS backend's service token, and projects to post them to."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from devtools.seed import demo_id
from tms_console.security.identity import Identity, issue_token
from tms_console.settings import get_settings


def service_token(tenant: str | uuid.UUID = "Acme", *, role: str = "service") -> str:
    """A token of the TMS backend (role `service`) for a demo tenant's name or any tenant id."""
    tenant_id = tenant if isinstance(tenant, uuid.UUID) else demo_id(tenant)
    identity = Identity(user_id="tms-backend", name="TMS", tenant_id=tenant_id, role=role)  # type: ignore[arg-type]
    return issue_token(identity, get_settings())


def events_path(tenant_id: uuid.UUID | str, project_id: uuid.UUID | str) -> str:
    return f"/v1/tenants/{tenant_id}/projects/{project_id}/events"


def ticket_event(
    event_type: str = "ticket.created", *, ticket_id: str = "T-1", **overrides: Any
) -> dict[str, Any]:
    """A complete, valid event body; `overrides` replace top-level fields."""
    body: dict[str, Any] = {
        "id": "evt-" + uuid.uuid4().hex,
        "type": event_type,
        "occurred_at": "2026-12-01T10:00:00Z",
        "ticket": {
            "id": ticket_id,
            "number": 1042,
            "subject": "Printer on fire",
            "status": "open",
            "priority": "high",
            "requester": {"id": "c-7", "name": "Carol Customer", "email": "carol@example.com"},
            "assignee": {"id": "a-1", "name": "Alice Agent"},
            "url": "https://tms.example/tickets/1042",
        },
        "actor": {"id": "a-1", "name": "Alice Agent"},
        "changes": {},
    }
    return body | overrides


@dataclass(frozen=True)
class Place:
    """A tenant and project of one test's own, so its counts are its own and the demo data stays as seeded."""

    tenant_id: uuid.UUID
    project_id: uuid.UUID

    @property
    def path(self) -> str:
        return events_path(self.tenant_id, self.project_id)

    def token(self, role: str = "service") -> str:
        return service_token(self.tenant_id, role=role)


def new_place(db: psycopg.Connection) -> Place:
    place = Place(uuid.uuid4(), uuid.uuid4())
    db.execute(
        "INSERT INTO tenants (id, name) VALUES (%s, %s)", (place.tenant_id, f"Intake {place.tenant_id}")
    )
    db.execute(
        "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, 'Intake')",
        (place.project_id, place.tenant_id),
    )
    return place


def add_integration(
    db: psycopg.Connection,
    place: Place,
    kind: str,
    *,
    events: list[str] | None = None,
    status: str = "active",
) -> uuid.UUID:
    """An integration row as an install leaves it (no credentials: the intake never reads them)."""
    meta = psycopg.types.json.Jsonb({"events": events} if events is not None else {})
    row = db.execute(
        "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta, status) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (uuid.uuid4(), place.tenant_id, place.project_id, kind, meta, status),
    ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


@contextmanager
def integration_of(
    database_url: str, place: Place, kind: str
) -> Iterator[tuple[psycopg.Connection, uuid.UUID]]:
    """`add_integration` on a connection of its own (for a module's fixture), which the block gets with
    the row's id; the row is deleted at the end."""
    with psycopg.connect(
        database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as db:
        integration = add_integration(db, place, kind)
        try:
            yield db, integration
        finally:
            db.execute("DELETE FROM project_integrations WHERE id = %s", (integration,))
