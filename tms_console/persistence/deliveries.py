"""The delivery step's SQL: a delivery with what sending it needs, its attempts, thread handles."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from tms_console.domain.ticket_events import REST_HOOK, DeliveryStatus
from tms_console.persistence.models import (
    Delivery,
    DeliveryAttempt,
    IntegrationCredential,
    ProjectIntegration,
    RestHook,
    TicketEvent,
    TicketThread,
)


@dataclass
class DeliveryRecord:
    """A delivery, its event, and its recipient: an integration with credentials (None when uninstalled
    since), or for a REST hook delivery the hook (None when unsubscribed since)."""

    delivery: Delivery
    event: TicketEvent
    integration: ProjectIntegration | None
    credential: IntegrationCredential | None
    hook: RestHook | None = None
    thread_handle: str = ""  # the ticket's first message at this integration, when read (`load(thread=)`)


async def load(
    session: AsyncSession, delivery_id: uuid.UUID, *, lock: bool = False, thread: bool = False
) -> DeliveryRecord | None:
    """The delivery and what sending it needs, in one query; `lock` holds the delivery row (only it)
    until the transaction ends; `thread` also reads the ticket's thread handle for this integration."""
    query = _load_query(lock=lock, thread=thread)
    row = (await session.execute(query, {"delivery_id": delivery_id})).one_or_none()
    if row is None:
        return None  # the foreign key cascades: a delivery never outlives its event
    delivery, event, integration, credential, thread_handle = row
    if delivery.integration_type == REST_HOOK:
        return DeliveryRecord(
            delivery, event, None, None, await session.get(RestHook, delivery.integration_id)
        )
    return DeliveryRecord(
        delivery, event, integration, credential if integration else None, thread_handle=thread_handle
    )


@functools.cache
def _load_query(
    *, lock: bool, thread: bool
) -> sa.Select[Delivery, TicketEvent, ProjectIntegration, IntegrationCredential, str]:
    """`load`'s query, built once per variant (it runs twice per delivery attempt; building it cost about
    as much as running it): the delivery's id is a bound parameter."""
    handle = sa.func.coalesce(col(TicketThread.handle), "") if thread else sa.literal("")
    query = (
        sa.select(Delivery, TicketEvent, ProjectIntegration, IntegrationCredential, handle)
        .join(TicketEvent, col(TicketEvent.id) == col(Delivery.ticket_event_id))
        .outerjoin(ProjectIntegration, col(ProjectIntegration.id) == col(Delivery.integration_id))
        .outerjoin(
            IntegrationCredential,
            col(IntegrationCredential.integration_id) == col(ProjectIntegration.id),
        )
        .where(col(Delivery.id) == sa.bindparam("delivery_id", type_=sa.Uuid))
    )
    if thread:
        query = query.outerjoin(
            TicketThread,
            sa.and_(
                col(TicketThread.integration_id) == col(ProjectIntegration.id),
                col(TicketThread.ticket_id) == col(TicketEvent.payload)["ticket"]["id"].astext,
            ),
        )
    if lock:
        query = query.with_for_update(of=Delivery)
    return query


async def keep_thread_handle(
    session: AsyncSession, *, integration_id: uuid.UUID, ticket_id: str, handle: str
) -> None:
    """Store a ticket's first handle; the first one stored wins (a later race keeps the thread)."""
    statement = insert(TicketThread).values(integration_id=integration_id, ticket_id=ticket_id, handle=handle)
    await session.execute(statement.on_conflict_do_nothing())


async def add_attempt(session: AsyncSession, values: dict[str, object]) -> None:
    """Insert one attempt's log row (a Core statement built once: no ORM object, no flush)."""
    await session.execute(_insert_attempt(), {"id": uuid.uuid4(), **values})


# What settling an attempt changes on its delivery.
SETTLED_COLUMNS = ("status", "attempts", "updated_at", "next_attempt_at", "last_reason", "delivered_at")


async def update(session: AsyncSession, delivery: Delivery, changes: dict[str, object]) -> None:
    """Write `changes` (of SETTLED_COLUMNS) to the locked delivery row in one Core UPDATE built once, and
    make the loaded object match without marking it dirty (nothing left for the session to flush)."""
    values = {name: changes.get(name, getattr(delivery, name)) for name in SETTLED_COLUMNS}
    await session.execute(_update_delivery(), {"delivery_id": delivery.id, **values})
    for key, value in changes.items():
        set_committed_value(delivery, key, value)


@functools.cache
def _insert_attempt() -> sa.Insert:
    return sa.insert(DeliveryAttempt.__table__)  # type: ignore[attr-defined]


@functools.cache
def _update_delivery() -> sa.Update:
    table = Delivery.__table__  # type: ignore[attr-defined]
    return (
        sa.update(table)
        .where(table.c.id == sa.bindparam("delivery_id", type_=sa.Uuid))
        .values({name: sa.bindparam(name, type_=table.c[name].type) for name in SETTLED_COLUMNS})
    )


async def paused(session: AsyncSession, *, integration_id: uuid.UUID) -> list[tuple[Delivery, str]]:
    """An integration's paused deliveries, locked, with their tickets' ids; oldest event first."""
    query = (
        select(Delivery, TicketEvent.payload)
        .join(TicketEvent, col(TicketEvent.id) == col(Delivery.ticket_event_id))
        .where(
            col(Delivery.integration_id) == integration_id,
            col(Delivery.status) == DeliveryStatus.PAUSED.value,
        )
        .order_by(col(TicketEvent.received_at), col(Delivery.created_at))
        .with_for_update(of=Delivery)
    )
    rows = (await session.execute(query)).all()
    return [(delivery, str(payload["ticket"]["id"])) for delivery, payload in rows]
