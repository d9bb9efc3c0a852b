"""The wrong-account guard: a reinstall that reached another provider account than the one installed
saves nothing; its installation is held (security/replacement_store.py) until the agent who started
it confirms that it replaces the old account, refuses, or lets it expire. Refusing is the default:
refusing and expiring revoke the new tokens at the provider and store nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.exceptions import RedisError

from tms_console.domain.errors import NotFound, ServiceError, WrongAccount
from tms_console.domain.reasons import Reason, describe
from tms_console.domain.values import Installation
from tms_console.persistence.job_queue import defer_replacement_expiry
from tms_console.persistence.redis import get_redis
from tms_console.providers.registry import get_provider
from tms_console.security.identity import Identity
from tms_console.security.replacement_store import Held, ReplacementStore
from tms_console.services import audit, credentials, revocation
from tms_console.services.tenancy import require_project
from tms_console.services.unit_of_work import outage, unit_of_work

logger = logging.getLogger("tms_console.replacements")
REPLACEMENT_SECONDS = 600  # how long the agent has to decide
KEEP_SECONDS = 2 * REPLACEMENT_SECONDS  # the store keeps it longer, so the expiry job finds it to revoke


def _store() -> ReplacementStore:
    return ReplacementStore(get_redis(), keep_seconds=KEEP_SECONDS)


async def save_guarded(actor: credentials.Actor, integration_type: str, install: Installation) -> uuid.UUID:
    """Save an installation; one reaching another account than the row's is held instead.

    Raises:
        WrongAccount: held under a one-time id; its detail names the account installed now.
        Unavailable: the database or Redis is down; nothing was stored.
    """
    try:
        return await credentials.save_installation(actor, integration_type, install)
    except credentials.OtherAccount as other:
        held = Held(
            tenant_id=actor.tenant_id,
            project_id=actor.project_id,
            integration_type=integration_type,
            user_id=actor.user_id,
            user_name=actor.user_name,
            row_id=str(other.row_id),
            expected=other.expected,
            found=other.found,
            expires_at=time.time() + REPLACEMENT_SECONDS,
        )
        replacement_id = await _hold(held, install)
        spec = get_provider(integration_type)
        detail = describe(Reason.WRONG_ACCOUNT, spec.name if spec else "The provider", other.expected)
        raise WrongAccount(replacement_id, detail) from None


async def _hold(held: Held, install: Installation) -> str:
    """Hold it, and queue the job that drops it (revoking its tokens) if nobody decides in time."""
    store = _store()
    try:
        replacement_id = await store.hold(held, install)
    except RedisError:
        raise outage("redis", saving=True) from None
    at = datetime.fromtimestamp(held.expires_at, UTC)
    async with unit_of_work(saving=True) as session:
        await defer_replacement_expiry(session, store.handle(replacement_id), at=at)
    logger.info("replacement_held type=%s", held.integration_type)
    return replacement_id


@dataclass(frozen=True)
class PendingReplacement:
    """What the agent is asked: replace `expected` with `found` on this integration?"""

    integration_type: str
    provider: str
    expected: str
    found: str


async def pending(identity: Identity, project_id: str, replacement_id: str) -> PendingReplacement | None:
    """The replacement waiting under the id for this agent in this project (None: none, or not theirs)."""
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
    try:
        held = await _store().peek(replacement_id)
    except RedisError:
        raise outage("redis") from None
    if held is None or held.expired or not _bound_to(held, identity, str(project.id)):
        return None
    spec = get_provider(held.integration_type)
    name = spec.name if spec else held.integration_type
    return PendingReplacement(held.integration_type, name, held.expected, held.found)


def _bound_to(held: Held, identity: Identity, project_id: str) -> bool:
    return (held.tenant_id, held.project_id, held.user_id) == (
        str(identity.tenant_id),
        project_id,
        identity.user_id,
    )


async def decide(
    identity: Identity,
    *,
    project_id: str,
    replacement_id: str,
    replace: bool,
    ip: str | None = None,
    user_agent: str | None = None,
) -> Reason:
    """The agent's answer: replace (save the held installation over the row it was held for) or keep the
    old account (revoke the new tokens). Either way the replacement is gone afterwards.

    Returns:
        REPLACED, REPLACEMENT_REFUSED, or REPLACEMENT_EXPIRED (too late: nothing changed).

    Raises:
        NotFound: no such replacement for this agent in this project (or already decided).
    """
    if await pending(identity, project_id, replacement_id) is None:
        raise NotFound(Reason.NOT_FOUND, "no replacement waiting")
    try:
        taken = await _store().take(replacement_id)
    except RedisError:
        raise outage("redis") from None
    if taken is None:  # decided in another tab a moment ago
        raise NotFound(Reason.NOT_FOUND, "no replacement waiting")
    held, install = taken
    actor = credentials.Actor(
        held.tenant_id, held.project_id, identity.user_id, identity.name, ip, user_agent
    )
    if install is None:
        raise ServiceError(Reason.REPLACEMENT_EXPIRED, "the held installation can no longer be opened")
    if held.expired or not replace:
        return await _drop(held, install, actor, expired=held.expired)
    try:
        await credentials.save_installation(
            actor, held.integration_type, install, replacing=uuid.UUID(held.row_id)
        )
    except credentials.OtherAccount:  # the row was reinstalled or replaced since: nothing is saved
        return await _drop(held, install, actor, expired=True)
    return Reason.REPLACED


async def _drop(held: Held, install: Installation, actor: credentials.Actor, *, expired: bool) -> Reason:
    """Nothing is stored; the new tokens are revoked at the provider, and the decision is audited."""
    reason = Reason.REPLACEMENT_EXPIRED if expired else Reason.REPLACEMENT_REFUSED
    spec = get_provider(held.integration_type)
    if spec is not None:
        await revocation.revoke_quietly(spec, install.secrets, why=reason.value)
    await audit.record_standalone(
        audit.event(
            tenant_id=held.tenant_id,
            project_id=held.project_id,
            integration_type=held.integration_type,
            reason=reason,
            actor_id=actor.user_id,
            actor_name=actor.user_name,
            integration_id=uuid.UUID(held.row_id),
            ip=actor.ip,
            user_agent=actor.user_agent,
        )
    )
    return reason


async def expire(handle: str) -> bool:
    """The expiry job: drop a replacement nobody decided on (revoking its tokens); True when it was there."""
    taken = await _store().take_by_handle(handle)
    if taken is None:
        return False
    held, install = taken
    if install is not None:
        actor = credentials.Actor(held.tenant_id, held.project_id, held.user_id, held.user_name)
        await _drop(held, install, actor, expired=True)
    return True
