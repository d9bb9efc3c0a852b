"""Sealing, opening and saving an installation's secrets: the one place that pairs a bundle with its row.

Every way of connecting (OAuth callback, a pasted bot token, an embedded signup, a webhook URL) ends
in `save_installation`, and everything that uses a token later starts from `open_bundle`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.domain.values import Installation, Sealed
from tms_console.persistence import repository
from tms_console.persistence.models import IntegrationCredential, ProjectIntegration
from tms_console.security.keyring import configured_keyring, row_aad
from tms_console.services import audit, lifecycle
from tms_console.services.delivery_outcome import resume_paused
from tms_console.services.unit_of_work import unit_of_work

RECONNECTED = "reconnected"  # installed again over a row that was not active


@dataclass(frozen=True)
class Actor:
    tenant_id: str
    project_id: str
    user_id: str
    user_name: str
    ip: str | None = None
    user_agent: str | None = None


def open_bundle(row: ProjectIntegration, credential: IntegrationCredential) -> dict[str, Any]:
    """Decrypt a row's secrets; raises DecryptError when the row's key or ciphertext is not ours."""
    sealed = Sealed(credential.key_id, bytes(credential.nonce), bytes(credential.ciphertext))
    return configured_keyring().open(
        sealed, aad=_aad(row.tenant_id, row.project_id, row.integration_type, row.id)
    )


def _aad(tenant_id: uuid.UUID, project_id: uuid.UUID, integration_type: str, row_id: uuid.UUID) -> bytes:
    return row_aad(
        tenant_id=tenant_id, project_id=project_id, integration_type=integration_type, row_id=row_id
    )


async def save_installation(actor: Actor, integration_type: str, install: Installation) -> uuid.UUID:
    """Encrypt and upsert the row with its credentials and the "installed" audit event, atomically; a
    reconnect (the same row) puts the deliveries its failure paused back in the queue, in that transaction.

    Raises:
        Unavailable: the database is down (reason NOT_SAVED); nothing was stored.
    """
    keyring = configured_keyring()
    tenant_id, project_id = uuid.UUID(actor.tenant_id), uuid.UUID(actor.project_id)

    def seal(row_id: uuid.UUID) -> Sealed:
        return keyring.seal(install.secrets, aad=_aad(tenant_id, project_id, integration_type, row_id))

    async with unit_of_work(saving=True) as session:
        row_id = await repository.upsert_integration(
            session,
            tenant_id=tenant_id,
            project_id=project_id,
            integration_type=integration_type,
            meta=install.meta,
            installed_by_id=actor.user_id,
            installed_by_name=actor.user_name,
            seal=seal,
            expires_at=install.expires_at,
        )
        await audit.record(
            session,
            tenant_id=tenant_id,
            project_id=project_id,
            integration_type=integration_type,
            reason=Reason.INSTALLED,
            actor_id=actor.user_id,
            actor_name=actor.user_name,
            integration_id=row_id,
            ip=actor.ip,
            user_agent=actor.user_agent,
        )
        who = lifecycle.Actor(actor.user_id, actor.user_name, actor.ip, actor.user_agent)
        await lifecycle.transition(session, row_id, IntegrationStatus.ACTIVE, RECONNECTED, actor=who)
        await resume_paused(session, row_id)
    return row_id
