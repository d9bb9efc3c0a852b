"""REST Hooks, for Zapier and Make without a native app: subscribe a URL to a project's ticket events.

A subscription is `{"target_url", "event"}` (one event type, or `*` for all). The URL passes the same
SSRF rules as a webhook's (checked again at every delivery), and is stored only sealed, together with
the hook's own signing secret, which the subscriber sees once. Deliveries go through the same queue as
every integration's, sent and signed as a webhook with the default JSON body; a 410 from the URL
removes the subscription (`remove_gone`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.errors import NotFound, ServiceError
from tms_console.domain.events import EVENT_TYPES
from tms_console.domain.reasons import Reason
from tms_console.domain.ticket_events import REST_HOOK
from tms_console.domain.values import Sealed
from tms_console.persistence import rest_hooks
from tms_console.persistence.models import RestHook
from tms_console.security import signing, ssrf
from tms_console.security.identity import Identity
from tms_console.security.keyring import configured_keyring, row_aad
from tms_console.services import audit
from tms_console.services.tenancy import parse_uuid, require_project, require_tenant
from tms_console.services.unit_of_work import unit_of_work
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.rest_hooks")
MAX_HOOKS_PER_PROJECT = 50
HOOK_EVENTS: tuple[str, ...] = (rest_hooks.ALL_EVENTS, *EVENT_TYPES)


class TooManyHooks(ServiceError):
    status_code = 409


@dataclass(frozen=True)
class Subscribed:
    """A new subscription; `secret` signs its deliveries and is shown this once."""

    id: str
    event: str
    secret: str


@dataclass(frozen=True)
class HookView:
    """What a listing shows: never the URL's path or the secret."""

    id: str
    event: str
    display_url: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class Who:
    """Who changes a subscription, for the audit trail."""

    identity: Identity
    ip: str | None = None
    user_agent: str | None = None


async def subscribe(who: Who, tenant_id: str, project_id: str, *, target_url: str, event: str) -> Subscribed:
    """Subscribe `target_url` to the project's `event` (or `*`).

    Raises:
        NotFound: another tenant's project, or no such project (checked before anything else).
        ServiceError: an unknown event, or a URL the SSRF rules refuse (400, with a sentence).
        TooManyHooks: the project has MAX_HOOKS_PER_PROJECT already.
        Unavailable: the database is down; nothing was stored.
    """
    identity = who.identity
    require_tenant(identity, tenant_id)
    async with unit_of_work() as session:
        await require_project(session, identity, project_id)
    if event not in HOOK_EVENTS:
        raise ServiceError(Reason.INVALID_INPUT, "event must be one of: " + ", ".join(HOOK_EVENTS))
    url = await _checked_url(target_url)
    secret = signing.new_signing_secret()
    async with unit_of_work(saving=True) as session:
        project = await require_project(session, identity, project_id)
        await rest_hooks.lock_project_hooks(session, project_id=project.id)
        if (
            await rest_hooks.count(session, tenant_id=project.tenant_id, project_id=project.id)
            >= MAX_HOOKS_PER_PROJECT
        ):
            raise TooManyHooks(
                Reason.TOO_MANY_HOOKS, f"a project may have at most {MAX_HOOKS_PER_PROJECT} REST hooks"
            )
        hook = _sealed_hook(project.tenant_id, project.id, event, url, secret, identity)
        await rest_hooks.add(session, hook)
        await _audit(session, hook, Reason.HOOK_SUBSCRIBED, who)
    logger.info("rest_hook_subscribed event=%s", event)
    return Subscribed(str(hook.id), event, secret)


async def unsubscribe(who: Who, tenant_id: str, project_id: str, hook_id: str) -> None:
    """Remove a subscription of the project; its pending deliveries end as failed ("unsubscribed").

    Raises:
        NotFound: no such hook in this project of the caller's tenant (the same for another tenant's).
    """
    identity = who.identity
    require_tenant(identity, tenant_id)
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
        hook = await rest_hooks.get(
            session, tenant_id=project.tenant_id, project_id=project.id, hook_id=parse_uuid(hook_id)
        )
        if hook is None:
            raise NotFound(Reason.NOT_FOUND, "not found")
        await rest_hooks.delete(session, hook_id=hook.id)
        await _audit(session, hook, Reason.HOOK_UNSUBSCRIBED, who)
    logger.info("rest_hook_unsubscribed event=%s", hook.event)


async def list_hooks(identity: Identity, tenant_id: str, project_id: str) -> list[HookView]:
    """The project's subscriptions, oldest first, each with its URL's scheme and host only."""
    require_tenant(identity, tenant_id)
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
        hooks = await rest_hooks.listed(session, tenant_id=project.tenant_id, project_id=project.id)
    return [
        HookView(str(h.id), h.event, h.display_url, h.created_at, h.created_by_name or h.created_by_id or "")
        for h in hooks
    ]


def open_target(hook: RestHook) -> dict[str, object]:
    """The hook's `url` and `signing_secret`, as the webhook sender takes them.

    Raises:
        DecryptError: the row's key is gone, or its ciphertext belongs to another row.
    """
    sealed = Sealed(hook.key_id, bytes(hook.nonce), bytes(hook.ciphertext))
    return configured_keyring().open(sealed, aad=_aad(hook.tenant_id, hook.project_id, hook.id))


async def remove_gone(session: AsyncSession, hook: RestHook, *, actor_id: str, actor_name: str) -> None:
    """The hook's URL answered 410 Gone (REST Hooks: "remove this subscription"): delete it, audited."""
    if await rest_hooks.delete(session, hook_id=hook.id):
        await audit.record(
            session,
            audit.event(
                tenant_id=hook.tenant_id,
                project_id=hook.project_id,
                integration_type=REST_HOOK,
                reason=Reason.HOOK_GONE,
                actor_id=actor_id,
                actor_name=actor_name,
                integration_id=hook.id,
            ),
        )
        logger.warning("rest_hook_removed reason=gone event=%s", hook.event)


async def _checked_url(target_url: str) -> str:
    try:
        return await ssrf.check_destination(target_url, allowed_origin=get_settings().dev_origin)
    except ssrf.DestinationError as exc:
        raise ServiceError(Reason.INVALID_INPUT, str(exc)) from None


def display_url(url: str) -> str:
    """What a listing may show of a URL: its origin (scheme, host and any port), never path or query."""
    parsed = ssrf.parse_destination(url, allowed_origin=get_settings().dev_origin)
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{host}{port}"


def _sealed_hook(
    tenant_id: uuid.UUID, project_id: uuid.UUID, event: str, url: str, secret: str, identity: Identity
) -> RestHook:
    hook_id = uuid.uuid4()
    sealed = configured_keyring().seal(
        {"url": url, "signing_secret": secret}, aad=_aad(tenant_id, project_id, hook_id)
    )
    return RestHook(
        id=hook_id,
        tenant_id=tenant_id,
        project_id=project_id,
        event=event,
        display_url=display_url(url),
        key_id=sealed.key_id,
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
        created_by_id=identity.user_id[:200],
        created_by_name=identity.name[:200],
    )


def _aad(tenant_id: uuid.UUID, project_id: uuid.UUID, hook_id: uuid.UUID) -> bytes:
    return row_aad(tenant_id=tenant_id, project_id=project_id, integration_type=REST_HOOK, row_id=hook_id)


async def _audit(session: AsyncSession, hook: RestHook, reason: Reason, who: Who) -> None:
    await audit.record(
        session,
        audit.event(
            tenant_id=hook.tenant_id,
            project_id=hook.project_id,
            integration_type=REST_HOOK,
            reason=reason,
            actor_id=who.identity.user_id,
            actor_name=who.identity.name,
            integration_id=hook.id,
            ip=who.ip,
            user_agent=who.user_agent,
        ),
    )
