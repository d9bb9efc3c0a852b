"""Calls the providers send us: the app's events URL (Slack, Discord, WhatsApp) and an install's own URL
(Telegram). Generic over providers: the provider's hooks authenticate a call and say what it means
(`domain.inbound`); this module refuses replays, finds the installs the call is about and moves them
through the lifecycle, with the provider as the actor of the audit event.

Every refusal changes nothing and gets the provider's own refusal answer; a repeat of a call already
acted on gets the normal answer and changes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Mapping

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.hooks import ProviderHooks
from tms_console.domain.inbound import InboundRefused, Reply, StatusEvent, Verified
from tms_console.domain.values import Installation
from tms_console.persistence import repository
from tms_console.persistence.models import ProjectIntegration
from tms_console.persistence.redis import get_redis
from tms_console.providers.config import resolve
from tms_console.providers.registry import get_provider, hooks_for
from tms_console.providers.spec import ProviderSpec
from tms_console.security.keyring import DecryptError
from tms_console.security.replay import ReplayGuard
from tms_console.services import credentials, lifecycle
from tms_console.services.install_meta import clean_meta
from tms_console.services.unit_of_work import outage, unit_of_work

logger = logging.getLogger("tms_console.inbound")
NOT_FOUND = Reply(404, '{"detail": "not found"}')


@dataclasses.dataclass(frozen=True)
class Caller:
    """Where a call came from, for the audit trail."""

    ip: str | None = None
    user_agent: str | None = None


def _provider(integration_type: str, *, app_events: bool) -> tuple[ProviderSpec, ProviderHooks] | None:
    """The provider and its hooks, when it sends calls of that kind (app events, or per-install calls)."""
    spec = get_provider(integration_type)
    if spec is None:
        return None
    hooks = hooks_for(spec)
    offered = hooks.receives_events if app_events else hooks.receives_inbound
    return (spec, hooks) if offered else None


def _keys(spec: ProviderSpec) -> dict[str, str]:
    return {name: value.get_secret_value() for name, value in resolve(spec).inbound_keys.items()}


def handshake(integration_type: str, query: Mapping[str, str]) -> Reply:
    """A GET on the events URL: the provider checking that the URL is ours (Meta's `hub.challenge`)."""
    found = _provider(integration_type, app_events=True)
    return found[1].handshake(query, _keys(found[0])) if found else NOT_FOUND


async def app_event(integration_type: str, headers: Mapping[str, str], body: bytes, caller: Caller) -> Reply:
    """A call to the app's events URL, signed with the app's key; every install it names moves."""
    found = _provider(integration_type, app_events=True)
    if found is None:
        return NOT_FOUND
    spec, hooks = found
    try:
        verified = hooks.read_event(headers, body, _keys(spec), time.time())
    except InboundRefused as refused:
        logger.info("inbound_refused type=%s reason=%s", spec.key, refused.reason)
        return hooks.refusal
    if not verified.events:  # a handshake, or an event about nothing we keep: nothing to change
        return verified.reply
    claim = _Claim(spec.key)
    try:
        if await claim.take(verified.event_id):
            async with unit_of_work() as session:
                moved = [await _move_matching(session, spec.key, event, caller) for event in verified.events]
            logger.info("inbound_event type=%s moved=%d", spec.key, sum(moved))
    except BaseException:
        await claim.give_back()
        raise
    return verified.reply


async def install_event(
    integration_type: str, endpoint_id: str, headers: Mapping[str, str], body: bytes, caller: Caller
) -> Reply:
    """A call to one install's own URL (`meta.endpoint_id`), authenticated with that install's secret."""
    found = _provider(integration_type, app_events=False)
    if found is None or len(endpoint_id) > 64:
        return NOT_FOUND
    spec, hooks = found
    claim = _Claim(spec.key)
    try:
        async with unit_of_work() as session:
            located = await repository.find_by_endpoint(
                session, integration_type=spec.key, endpoint_id=endpoint_id
            )
            row, credential = located if located else (None, None)
            if row is None or credential is None:
                return NOT_FOUND
            try:
                bundle = credentials.open_bundle(row, credential)
                verified = hooks.read_inbound(headers, body, bundle, time.time())
            except (InboundRefused, DecryptError) as refused:
                reason = refused.reason if isinstance(refused, InboundRefused) else "unreadable"
                logger.info("inbound_refused type=%s reason=%s", spec.key, reason)
                return hooks.refusal
            if await claim.take(f"{row.id}:{verified.event_id}"):
                await _apply_to_install(session, spec, hooks, row, verified, caller, body)
    except BaseException:
        await claim.give_back()
        raise
    return verified.reply


async def _apply_to_install(
    session: AsyncSession,
    spec: ProviderSpec,
    hooks: ProviderHooks,
    row: ProjectIntegration,
    verified: Verified,
    caller: Caller,
    body: bytes,
) -> None:
    meta = dict(row.meta or {})
    for event in verified.events:
        if all(meta.get(key) == value for key, value in event.match.items()):
            await _move(session, row.id, event, caller)
    folded = hooks.on_inbound(json.loads(body), meta)
    if folded is not None:
        folded = clean_meta(resolve(spec), Installation(meta=folded))
        await repository.update_meta(session, tenant_id=row.tenant_id, integration_id=row.id, meta=folded)


async def _move_matching(
    session: AsyncSession, integration_type: str, event: StatusEvent, caller: Caller
) -> int:
    rows = await repository.find_by_meta(session, integration_type=integration_type, match=dict(event.match))
    return sum([await _move(session, row.id, event, caller) for row in rows])


async def _move(session: AsyncSession, integration_id: uuid.UUID, event: StatusEvent, caller: Caller) -> bool:
    actor = dataclasses.replace(lifecycle.SYSTEM_PROVIDER, ip=caller.ip, user_agent=caller.user_agent)
    return await lifecycle.transition(session, integration_id, event.to, event.reason, actor=actor)


class _Claim:
    """One call's claim on its id: taken once (a repeat is refused), given back if the work failed, so
    the provider's retry is acted on."""

    def __init__(self, provider: str) -> None:
        self._guard = ReplayGuard(get_redis())
        self._provider, self._event_id = provider, ""

    async def take(self, event_id: str) -> bool:
        try:
            first = await self._guard.claim(self._provider, event_id)
        except RedisError:
            raise outage("redis") from None
        if not first:
            logger.info("inbound_repeat type=%s", self._provider)
        self._event_id = event_id if first else ""
        return first

    async def give_back(self) -> None:
        if not self._event_id:
            return
        try:
            await self._guard.release(self._provider, self._event_id)
        except RedisError:
            logger.warning("inbound_release_failed type=%s", self._provider)
