"""Sealing, opening and saving an installation's secrets: the one place that pairs a bundle with its row.

Every way of connecting (OAuth callback, a pasted bot token, an embedded signup, a webhook URL) ends
in `save_installation`, and everything that uses a token later starts from `open_bundle`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.domain.values import Installation, Sealed, Secrets
from tms_console.persistence import installs, job_queue, repository
from tms_console.persistence.models import IntegrationCredential, ProjectIntegration, utcnow
from tms_console.providers.registry import get_provider
from tms_console.providers.spec import ProviderSpec
from tms_console.security.keyring import DecryptError, configured_keyring, row_aad
from tms_console.services import audit, lifecycle, revocation
from tms_console.services.delivery_outcome import resume_paused
from tms_console.services.unit_of_work import one_statement, unit_of_work

# Which meta fields name the connected account, across providers (display only). Providers added later
# write the generic `account_name`.
ACCOUNT_FIELDS = ("guild_name", "team_name", "account_name")


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


class OtherAccount(Exception):
    """The install reaches another provider account than the one installed on the row: nothing was saved.

    Carries the stored display names only (never a secret), for the agent to confirm the replacement.
    """

    def __init__(self, row_id: uuid.UUID, expected: str, found: str) -> None:
        super().__init__("another provider account")
        self.row_id, self.expected, self.found = row_id, expected, found


@dataclass(frozen=True)
class Previous:
    """What a reinstall replaced: the old credentials (to revoke once the new ones are committed)."""

    bundle: Secrets | None
    same_account: bool


async def save_installation(
    actor: Actor, integration_type: str, install: Installation, *, replacing: uuid.UUID | None = None
) -> uuid.UUID:
    """Encrypt and upsert the row with its credentials and its audit event, atomically; then revoke the
    credentials it replaced at the provider (best effort).

    A reinstall over an existing row (a reconnect) keeps the row id, the picked event types, and, when
    it reaches the same provider account, the target picked after installing; the deliveries its
    failure paused go back in the queue in the same transaction. One that reaches another account is
    saved only when `replacing` names the row (the agent confirmed the replacement).

    Raises:
        OtherAccount: another provider account than the row's, not confirmed; nothing was stored.
        Unavailable: the database is down (reason NOT_SAVED); nothing was stored.
    """
    spec = get_provider(integration_type)
    assert spec is not None  # callers resolved the type
    tenant_id, project_id = uuid.UUID(actor.tenant_id), uuid.UUID(actor.project_id)
    keyring = configured_keyring()

    def seal(row_id: uuid.UUID) -> Sealed:
        return keyring.seal(install.secrets, aad=_aad(tenant_id, project_id, integration_type, row_id))

    if replacing is None:
        first = await _save_first(actor, spec, install, seal)
        if first is not None:
            return first
    async with unit_of_work(saving=True) as session:
        await repository.lock_integration_slot(
            session, tenant_id=tenant_id, project_id=project_id, integration_type=integration_type
        )
        found = await repository.get_integration(
            session, tenant_id=tenant_id, project_id=project_id, integration_type=integration_type, lock=True
        )
        previous = _previous(spec, found, install, replacing)
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
        reason = Reason.INSTALLED
        if previous is not None:
            reason = Reason.RECONNECTED if previous.same_account else Reason.REPLACED
        await audit.record(
            session,
            audit.event(
                tenant_id=tenant_id,
                project_id=project_id,
                integration_type=integration_type,
                reason=reason,
                actor_id=actor.user_id,
                actor_name=actor.user_name,
                integration_id=row_id,
                ip=actor.ip,
                user_agent=actor.user_agent,
            ),
        )
        who = lifecycle.Actor(actor.user_id, actor.user_name, actor.ip, actor.user_agent)
        await lifecycle.transition(session, row_id, IntegrationStatus.ACTIVE, reason.value, actor=who)
        await resume_paused(session, row_id)
        if install.details_later:  # e.g. a first install that lost its insert to a concurrent one
            await job_queue.defer_install_details(
                session, tenant_id=tenant_id, project_id=project_id, integration_id=row_id
            )
    if previous is not None and _revokes(spec, previous, install.secrets):
        await revocation.revoke_quietly(spec, previous.bundle or {}, why=reason.value)
    return row_id


async def _save_first(
    actor: Actor, spec: ProviderSpec, install: Installation, seal: Callable[[uuid.UUID], Sealed]
) -> uuid.UUID | None:
    """A first install (the project has no such integration yet): the row, its credentials, its audit
    event and, when its display-only details are still to fetch, the worker's `install_details` job
    in one statement; None (nothing written) when a row exists, for the general path to handle.

    A new row is active with no reason and no paused deliveries, so there is no transition to make."""
    integration_type = spec.key
    row_id, now = uuid.uuid4(), utcnow()
    installed = audit.event_values(
        tenant_id=actor.tenant_id,
        project_id=actor.project_id,
        integration_type=integration_type,
        reason=Reason.INSTALLED,
        actor_id=actor.user_id,
        actor_name=actor.user_name,
        integration_id=row_id,
        ip=actor.ip,
        user_agent=actor.user_agent,
    )
    first = installs.FirstInstall(
        id=row_id,
        tenant_id=uuid.UUID(actor.tenant_id),
        project_id=uuid.UUID(actor.project_id),
        integration_type=integration_type,
        meta=install.meta,
        installed_by_id=actor.user_id,
        installed_by_name=actor.user_name,
        sealed=seal(row_id),
        expires_at=install.expires_at,
        now=now,
        details_later=install.details_later,
    )
    async with one_statement(saving=True) as connection:
        inserted = await installs.insert_first(connection, first, installed)
    return row_id if inserted else None


def _previous(
    spec: ProviderSpec,
    found: tuple[ProjectIntegration, IntegrationCredential | None] | None,
    install: Installation,
    replacing: uuid.UUID | None,
) -> Previous | None:
    """The row being replaced, checked for the account; on the same account, `install.meta` gains the
    kept fields it does not bring itself."""
    if found is None:
        return None
    row, credential = found
    old_meta = dict(row.meta or {})
    old_account, new_account = old_meta.get(spec.account_key), install.meta.get(spec.account_key)
    same = not spec.account_key or not old_account or str(old_account) == str(new_account or "")
    if not same and replacing != row.id:
        raise OtherAccount(row.id, account_name(old_meta), account_name(install.meta))
    if same:
        kept = {k: old_meta[k] for k in spec.kept_meta if k in old_meta and not install.meta.get(k)}
        install.meta = install.meta | kept
    return Previous(_open_quietly(row, credential), same)


def _open_quietly(row: ProjectIntegration, credential: IntegrationCredential | None) -> Secrets | None:
    if credential is None:
        return None
    try:
        return open_bundle(row, credential)
    except DecryptError:  # unreadable: nothing to revoke with
        return None


def _revokes(spec: ProviderSpec, previous: Previous, new: Secrets) -> bool:
    """Revoke the old credentials unless they are the new ones, or revoking them would reach the new
    install too (the spec says when, for a reconnect to the same account)."""
    if not previous.bundle or (previous.same_account and not spec.revoke_same_account):
        return False
    return not any(previous.bundle.get(k) and previous.bundle.get(k) == v for k, v in new.items())


def account_name(meta: dict[str, Any]) -> str:
    """The connected account as the console shows it (guild, workspace, bot, Google account, ...)."""
    return next((str(meta[f]) for f in ACCOUNT_FIELDS if meta.get(f)), "")
