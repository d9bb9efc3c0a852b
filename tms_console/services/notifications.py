"""Telling a tenant's admins that an integration needs them, through one of the tenant's own integrations.

The setting: a tenant admin picks one installed integration that can carry console notices (a webhook or
a chat platform, in any project of the tenant), or none. The trigger: every real status transition to
`needs_reconnect`, `disabled` or `degraded` (the lifecycle's `after_transition` hook), so a check that
finds the same state again (no transition) sends nothing, and each transition sends once: the job is
deferred in the transition's own transaction, so it exists exactly when the transition does. The job
renders the sentence with the provider's `render_notice` and posts it with its `send_message`, as a
delivery would; a notice is not a ticket event (no delivery row, no thread). The broken integration is
never told about itself, nor is a notify target that cannot receive (it needs a reconnect, or is disabled).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain import status_reasons
from tms_console.domain.errors import NotFound, ServiceError
from tms_console.domain.messages import Outcome, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.oauth.http import api_for
from tms_console.persistence import tenant_settings
from tms_console.persistence.job_queue import defer_notice
from tms_console.providers.config import resolve
from tms_console.providers.registry import PROVIDERS, get_provider, hooks_for
from tms_console.security.identity import Identity
from tms_console.security.keyring import DecryptError
from tms_console.services import audit_log, lifecycle, tokens
from tms_console.services.overview import require_admin
from tms_console.services.tenancy import parse_uuid
from tms_console.services.unit_of_work import unit_of_work

logger = logging.getLogger("tms_console.notifications")
# What the notice says happened, by the status moved to.
TOLD = {
    IntegrationStatus.NEEDS_RECONNECT: "needs reconnecting",
    IntegrationStatus.DISABLED: "was disabled",
    IntegrationStatus.DEGRADED: "is failing to deliver",
}
CANNOT_RECEIVE = (IntegrationStatus.NEEDS_RECONNECT.value, IntegrationStatus.DISABLED.value)


class NoticeNotSent(Exception):
    """The platform did not take the notice for now (it is tried again); never carries a secret."""


@dataclass(frozen=True)
class NotifyOption:
    id: str
    label: str  # "Slack · Billing Desk"


@dataclass(frozen=True)
class NotifySetting:
    chosen: str  # the integration id told, or ""
    options: list[NotifyOption]


def notice_types() -> list[str]:
    """The providers whose integrations can carry a console notice."""
    return [spec.key for spec in PROVIDERS.values() if spec.available and hooks_for(spec).sends_notices]


# At most this many choices (by project name; the current one always among them): a tenant with
# 10,000 projects has tens of thousands of integrations, and listing them all kept /admin from
# showing anything for seconds (every option is state sent to the browser).
MAX_OPTIONS = 200


async def notify_setting(identity: Identity) -> NotifySetting:
    """The tenant's choice and what may be chosen (admins only)."""
    require_admin(identity)
    tenant, types = identity.tenant_id, notice_types()
    async with unit_of_work() as session:
        chosen = await tenant_settings.notify_integration_id(session, tenant_id=tenant)
        rows = await tenant_settings.integrations_of_types(
            session, tenant_id=tenant, types=types, limit=MAX_OPTIONS
        )
        if chosen is not None and all(row.id != chosen for row, _ in rows):  # past the first options
            rows += await tenant_settings.integrations_of_types(
                session, tenant_id=tenant, types=types, only=chosen
            )
    options = [
        NotifyOption(str(row.id), f"{audit_log.provider_name(row.integration_type)} · {name}")
        for row, name in rows
    ]
    return NotifySetting(str(chosen) if chosen else "", options)


async def choose_notify(identity: Identity, integration_id: str) -> NotifySetting:
    """Tell the admins through this integration from now on ("": through none). Admins only.

    Raises:
        NotFound: not an installed integration of the tenant that can carry notices.
    """
    require_admin(identity)
    wanted = parse_uuid(integration_id) if integration_id else None
    async with unit_of_work() as session:
        if wanted is not None:
            found = await tenant_settings.integration_with_credentials(
                session, tenant_id=identity.tenant_id, integration_id=wanted
            )
            if found is None or found[0].integration_type not in notice_types():
                raise NotFound(Reason.NOT_FOUND, "not an integration that can carry notices")
        await tenant_settings.set_notify_integration(
            session, tenant_id=identity.tenant_id, integration_id=wanted, updated_by=identity.user_id
        )
    logger.info("notify_target_chosen set=%s actor=%s", wanted is not None, identity.user_id)
    return await notify_setting(identity)


async def on_transition(session: AsyncSession, change: lifecycle.StatusChange) -> None:
    """After a real transition, in its transaction: queue one notice when the tenant wants to hear of it."""
    to = IntegrationStatus(change.to_status)
    if to not in TOLD:
        return
    target = await tenant_settings.notify_integration_id(session, tenant_id=change.tenant_id)
    if target is None:
        return
    if target == change.integration_id:
        logger.info("notice_skipped reason=notify_target_is_the_broken_one type=%s", change.integration_type)
        return
    project = await tenant_settings.project_name(
        session, tenant_id=change.tenant_id, project_id=change.project_id
    )
    provider = audit_log.provider_name(change.integration_type)
    why = status_reasons.explain(to.value, change.reason)
    text = f"Integration {provider} of project {project or change.project_id} {TOLD[to]}: {why}"
    await defer_notice(session, tenant_id=change.tenant_id, integration_id=target, text=text)


lifecycle.on_transition(on_transition)


async def send_notice(tenant_id: str, integration_id: str, text: str) -> Outcome | None:
    """The `notify` job: post `text` through the integration; its outcome, None when it was not sent.

    Raises:
        NoticeNotSent: the platform did not take it for now (the job is tried again).
    """
    async with unit_of_work() as session:
        found = await tenant_settings.integration_with_credentials(
            session, tenant_id=uuid.UUID(tenant_id), integration_id=uuid.UUID(integration_id)
        )
    row, credential = found if found else (None, None)
    spec = get_provider(row.integration_type) if row else None
    if row is None or credential is None or spec is None or row.status in CANNOT_RECEIVE:
        logger.warning("notice_skipped reason=notify_target_cannot_receive")
        return None
    hooks = hooks_for(spec)
    try:
        bundle = await tokens.fresh_bundle(row, credential)
    except (DecryptError, ServiceError):
        logger.warning("notice_skipped reason=credentials type=%s", spec.key)
        return None
    try:
        result = await hooks.send_message(
            api_for(resolve(spec)), bundle, dict(row.meta or {}), hooks.render_notice(text)
        )
    except Exception as exc:  # the contract says hooks never raise; a bug is a failed notice, not a lost job
        result = SendResult(Outcome.RETRY, reason="send_error", detail=type(exc).__name__)
    logger.info("notice_sent type=%s outcome=%s reason=%s", spec.key, result.outcome.value, result.reason)
    if result.outcome is Outcome.RETRY:
        raise NoticeNotSent(result.reason or "retry")
    return result.outcome
