"""The first install of an integration into a project, in one statement (one round trip).

The row, its sealed credentials and its audit event are inserted by one statement, atomic on its own
(autocommit): it holds the project's slot (the advisory lock `repository.lock_integration_slot` takes,
so it runs one after the other with a reinstall) and inserts nothing when a row already exists; the
caller then takes the general path (lock, read the row, upsert, transition). The same statement queues
the `install_details` job of a provider that fetches display-only details later (ids only, never a
token): only when the row was inserted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from tms_console.domain.status import IntegrationStatus
from tms_console.domain.values import Sealed
from tms_console.persistence.job_queue import (
    INSTALL_DETAILS_PRIORITY,
    INSTALL_DETAILS_TASK,
    defer_jobs_sql,
    installs_queue,
)
from tms_console.persistence.repository import slot_key

EVENT_COLUMNS = (
    "id", "tenant_id", "project_id", "integration_type", "action", "reason", "actor_id", "actor_name",
    "ip", "user_agent", "from_status", "to_status", "created_at",
)  # fmt: skip
# The details job's args are the row's ids, as text: the job reads the row and opens its sealed credentials.
_DETAILS_JOB = f"""SELECT %(details_queue)s::text AS queue, {INSTALL_DETAILS_PRIORITY} AS priority,
    NULL::text AS lock, NULL::timestamptz AS scheduled_at,
    jsonb_build_object('tenant_id', %(tenant_id)s::text, 'project_id', %(project_id)s::text,
        'integration_id', row.id::text) AS args
    FROM row WHERE %(details)s"""  # noqa: S608 - constants only, values are bound
_INSERT_FIRST = f"""WITH slot AS (SELECT pg_advisory_xact_lock(hashtextextended(%(slot)s, 0))),
row AS (
    INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta, status,
        installed_by_id, installed_by_name, created_at, updated_at)
    SELECT %(id)s, %(tenant_id)s, %(project_id)s, %(integration_type)s, %(meta)s,
        '{IntegrationStatus.ACTIVE.value}', %(installed_by_id)s, %(installed_by_name)s, %(now)s, %(now)s
    FROM slot
    ON CONFLICT (tenant_id, project_id, integration_type) DO NOTHING
    RETURNING id
), credentials AS (
    INSERT INTO integration_credentials (integration_id, key_id, nonce, ciphertext, expires_at, updated_at)
    SELECT id, %(key_id)s, %(nonce)s, %(ciphertext)s, %(expires_at)s, %(now)s FROM row
), event AS (
    INSERT INTO integration_events (integration_id, {", ".join(EVENT_COLUMNS)})
    SELECT id, {", ".join(f"%(event_{c})s" for c in EVENT_COLUMNS)} FROM row
)
SELECT (SELECT count(*) FROM row),
    {defer_jobs_sql(_DETAILS_JOB, queue=None, task=INSTALL_DETAILS_TASK)}"""  # noqa: S608 - constants only, values are bound


@dataclass(frozen=True)
class FirstInstall:
    id: uuid.UUID
    tenant_id: uuid.UUID
    project_id: uuid.UUID
    integration_type: str
    meta: dict[str, Any]
    installed_by_id: str
    installed_by_name: str
    sealed: Sealed
    expires_at: datetime | None
    now: datetime
    details_later: bool = False  # queue the `install_details` job with the row


async def insert_first(
    connection: AsyncConnection[Any], install: FirstInstall, event: Mapping[str, Any]
) -> bool:
    """Insert the row, its credentials and its audit `event` (`audit.event_values`; its integration id: the
    row's) in one statement on an autocommit `connection` (`db.statement()`), with the details job when
    `install.details_later`; False (nothing written, no job) when the project already has this integration."""
    params = {
        "slot": slot_key(install.tenant_id, install.project_id, install.integration_type),
        "id": install.id,
        "tenant_id": install.tenant_id,
        "project_id": install.project_id,
        "integration_type": install.integration_type,
        "meta": Jsonb(install.meta),
        "installed_by_id": install.installed_by_id,
        "installed_by_name": install.installed_by_name,
        "key_id": install.sealed.key_id,
        "nonce": install.sealed.nonce,
        "ciphertext": install.sealed.ciphertext,
        "expires_at": install.expires_at,
        "now": install.now,
        "details": install.details_later,
        "details_queue": installs_queue(),
    } | {f"event_{column}": event[column] for column in EVENT_COLUMNS}
    found = await (await connection.execute(_INSERT_FIRST, params)).fetchone()
    return bool(found and found[0])
