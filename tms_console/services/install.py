"""The install flow: start (authorize URL + one-time state) and the callback, as a list of guards.

Each guard ends in a stable reason code (bolt-python's oauth_flow shape). The callback never
raises to its caller: it returns where to send the browser and why.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from redis.exceptions import RedisError

from tms_console.domain.errors import (
    NotFound,
    ProviderError,
    ServiceError,
    TooManyRequests,
    Unavailable,
    WrongAccount,
)
from tms_console.domain.reasons import Reason
from tms_console.domain.values import Installation
from tms_console.logs import current
from tms_console.oauth import oauth2
from tms_console.oauth.http import api_for
from tms_console.persistence import repository
from tms_console.persistence.models import IntegrationEvent
from tms_console.persistence.redis import get_redis
from tms_console.providers.config import ResolvedProvider, resolve
from tms_console.providers.registry import get_provider, hooks_for
from tms_console.providers.spec import ProviderSpec
from tms_console.security import redirects
from tms_console.security.identity import Identity
from tms_console.security.keyring import DecryptError
from tms_console.security.ratelimit import Charge
from tms_console.security.state_store import LIMITED, PendingInstall, StateStore, digest
from tms_console.services import audit, credentials, metrics, replacements
from tms_console.services.install_meta import clean_meta, clean_value, installation_from_token
from tms_console.services.tenancy import require_project_installed
from tms_console.services.unit_of_work import one_statement, outage, unit_of_work
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.install")


def _state_store() -> StateStore:
    return StateStore(get_redis(), ttl_seconds=get_settings().oauth_state_ttl_seconds)


def installable(integration_type: str) -> ResolvedProvider:
    spec = get_provider(integration_type)
    if spec is None or not spec.available or spec.auth_mode != "oauth2":
        raise NotFound(Reason.NOT_FOUND, "unknown integration type")
    provider = resolve(spec)
    if not provider.configured:
        raise ServiceError(Reason.NOT_CONFIGURED)
    return provider


async def start_install(
    identity: Identity,
    *,
    project_id: str,
    integration_type: str,
    binding: str | None,
    purpose: str = "install",
    limit: Charge | None = None,
) -> str:
    """Check access, store the pending install under a fresh state, return the authorize URL.

    `purpose="admin_consent"` returns the provider's tenant-wide admin-consent URL instead (its
    callback arrives at the same redirect URI and is told apart by the stored state). `limit`: the
    request's rate limit, counted as the state is stored (one Redis round trip, after the project check).

    Raises:
        TooManyRequests: over `limit`; nothing was stored.
    """
    provider = installable(integration_type)
    if purpose == "admin_consent" and not provider.spec.admin_consent_path:
        raise NotFound(Reason.NOT_FOUND, "no admin consent for this integration")
    project, installed = await require_project_installed(identity, project_id, provider.spec.key)
    pkce = provider.spec.pkce and purpose == "install"
    verifier, challenge = oauth2.new_pkce_pair() if pkce else (None, None)
    pending = PendingInstall(
        tenant_id=str(identity.tenant_id),
        project_id=str(project),
        integration_type=provider.spec.key,
        user_id=identity.user_id,
        user_name=identity.name,
        pkce_verifier=verifier,
        binding_hash=digest(binding) if binding else None,
        purpose=purpose,
        reconnect_of=str(installed) if installed else None,
    )
    try:
        state = await _state_store().issue(pending, limit=limit)
    except RedisError:
        raise outage("redis") from None
    if state is None:
        assert limit is not None
        raise TooManyRequests(limit.retry_after)
    if purpose == "admin_consent":
        return oauth2.admin_consent_url(provider, state=state)
    return oauth2.authorize_url(provider, state=state, code_challenge=challenge)


@dataclass(frozen=True)
class CallbackInput:
    integration_type: str
    state: str | None
    code: str | None
    error: str | None
    binding: str | None = None
    # Used to classify an error (e.g. Microsoft's AADSTS65001), never shown or logged.
    error_description: str | None = None
    admin_consent: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    # A repeated state/code/error parameter: refused before the state is touched.
    duplicated: bool = False
    # Who is signed in to the console in this browser, if anyone (the state must be theirs).
    signed_in: Identity | None = None
    # The rate limit to count this callback against as its state is consumed (one Redis round trip);
    # None: already counted.
    limit: Charge | None = None


@dataclass(frozen=True)
class CallbackOutcome:
    reason: Reason
    redirect_url: str | None  # None: the state was unknown, show a plain page
    status_code: int = 303
    retry_after: int | None = None  # a 429: seconds until the rate limit lets the browser retry


async def complete_callback(data: CallbackInput) -> CallbackOutcome:
    """Guards in order: repeated parameters -> a cancel from another browser (refused, state kept) ->
    consume state -> provider error -> binding -> signed-in account -> type -> code -> exchange ->
    validate -> enrich -> encrypt + upsert in one transaction -> audit -> redirect. Timed (metrics)."""
    started = time.perf_counter()
    try:
        return await _complete(data)
    finally:
        metrics.callback_took(data.integration_type, time.perf_counter() - started)


async def _complete(data: CallbackInput) -> CallbackOutcome:
    if data.duplicated:
        return _finish(None, data, Reason.DUPLICATE_PARAMETER, status_code=400)
    try:
        if data.error and await _bound_to_another_browser(data):
            # A cancel from a foreign browser must not end the agent's flow nor be audited as theirs.
            return _finish(None, data, Reason.INVALID_BROWSER, status_code=400)
        pending = await _state_store().consume(data.state or "", limit=data.limit)
    except RedisError:
        return _finish(None, data, outage("redis").reason, status_code=503)
    if pending is None:
        return _finish(None, data, Reason.INVALID_STATE, status_code=400)
    if pending == LIMITED and data.limit is not None:
        refused = TooManyRequests(data.limit.retry_after)
        return _finish(
            None, data, refused.reason, status_code=refused.status_code, retry_after=refused.retry_after
        )
    if isinstance(pending, str):
        return _finish(None, data, Reason.STATE_REUSED, status_code=400)
    replacement = None
    try:
        reason = _refusal(pending, data) or Reason.INSTALLED
        if reason is Reason.INSTALLED:
            await _install(pending, data)
    except WrongAccount as exc:  # nothing saved: the agent is asked on the console page
        reason, replacement = exc.reason, exc.replacement_id
    except (ProviderError, Unavailable) as exc:  # Unavailable: not saved (the database is down)
        reason = exc.reason
    if reason is not Reason.INSTALLED:  # installs are audited in their own transaction
        await audit.record_standalone(_audit_event(pending, data, reason))
    return _finish(pending, data, reason, replacement=replacement)


async def _bound_to_another_browser(data: CallbackInput) -> bool:
    """Whether the state belongs to a flow bound to a browser other than this one (not consumed).

    Only cancels are checked before consuming: a code arriving in the wrong browser may have leaked,
    so that flow is ended (consumed, `invalid_browser`) by the guards below.
    """
    pending = await _state_store().peek(data.state or "")
    if pending is None or pending.binding_hash is None:
        return False
    return not data.binding or digest(data.binding) != pending.binding_hash


def _audit_event(pending: PendingInstall, data: CallbackInput, reason: Reason) -> IntegrationEvent:
    return audit.event(
        tenant_id=pending.tenant_id,
        project_id=pending.project_id,
        integration_type=pending.integration_type,
        reason=reason,
        actor_id=pending.user_id,
        actor_name=pending.user_name,
        integration_id=uuid.UUID(pending.reconnect_of) if pending.reconnect_of else None,
        ip=data.ip,
        user_agent=data.user_agent,
    )


def _refusal(pending: PendingInstall, data: CallbackInput) -> Reason | None:
    """The guards before the code exchange: why the flow ends here, or None to exchange the code."""
    if data.error:
        return oauth2.authorize_error_reason(data.error, data.error_description or "")
    if pending.binding_hash and (not data.binding or digest(data.binding) != pending.binding_hash):
        return Reason.INVALID_BROWSER
    if data.signed_in and (
        str(data.signed_in.tenant_id) != pending.tenant_id or data.signed_in.user_id != pending.user_id
    ):
        return Reason.WRONG_CONSOLE_USER
    if pending.integration_type != data.integration_type:
        return Reason.TYPE_MISMATCH
    if pending.purpose == "admin_consent":
        return Reason.ADMIN_CONSENT_GRANTED if data.admin_consent == "True" else Reason.ACCESS_DENIED
    if not data.code:
        return Reason.MISSING_CODE
    return None


async def _install(pending: PendingInstall, data: CallbackInput) -> None:
    """Exchange the code, enrich, save. A first install's display-only details are fetched by the worker
    (`add_details`, queued with the row); a reinstall fetches them here, before saving: the row it replaces
    (or the held replacement) is compared and kept whole."""
    spec = get_provider(pending.integration_type)
    assert spec is not None and data.code  # the state was minted for a known type; the guards passed
    provider = resolve(spec)
    first = pending.reconnect_of is None
    install = await _exchange_and_enrich(provider, data.code, pending.pkce_verifier, first=first)
    await _save(pending, data, spec, install)


async def _exchange_and_enrich(
    provider: ResolvedProvider, code: str, verifier: str | None, *, first: bool = False
) -> Installation:
    """The installation from the token response; a first install's display-only details are left for
    the worker."""
    spec = provider.spec
    hooks = hooks_for(spec)
    status, body = await oauth2.exchange_code(provider, code=code, code_verifier=verifier)
    token = oauth2.judge_token_response(hooks, status, body)
    install = installation_from_token(provider, token)
    await hooks.after_install(api_for(provider), token, install.meta)
    install.details_later = hooks.fetches_details_later and first
    if hooks.fetches_details_later and not first:
        install.meta |= await hooks.details_later(api_for(provider), token, install.meta)
    install.meta = clean_meta(provider, install)
    missing = [name for name in spec.required_meta if not install.meta.get(name)]
    if missing:
        raise ProviderError(Reason.BAD_RESPONSE, f"token response lacks {', '.join(missing)}")
    return install


async def add_details(tenant_id: uuid.UUID, project_id: uuid.UUID, integration_id: uuid.UUID) -> None:
    """The worker's `install_details` job: a first install's display-only details (the Discord channel's
    name, the installing user's id), fetched with the row's own sealed credentials and added to its meta
    (cleaned like the rest of it). Display only: a provider failure or unreadable credentials leave them
    out (logged, not retried); a row uninstalled meanwhile ends the job quietly. A database outage raises
    (Unavailable), for the task's outage retry."""
    async with unit_of_work() as session:
        found = await repository.get_integration_by_id(
            session, tenant_id=tenant_id, project_id=project_id, integration_id=integration_id
        )
    row, credential = found or (None, None)
    spec = get_provider(row.integration_type) if row else None
    if row is None or credential is None or spec is None:
        return  # uninstalled meanwhile
    provider, meta = resolve(spec), dict(row.meta or {})
    added, reason = "-", "ok"
    try:
        bundle = credentials.open_bundle(row, credential)
        found_details = await hooks_for(spec).details_later(api_for(provider), bundle, meta)
        details = {k: clean_value(v) for k, v in found_details.items() if v not in (None, "")}
        if details:
            async with one_statement() as connection:
                await repository.add_meta(
                    connection,
                    tenant_id=tenant_id,
                    project_id=project_id,
                    integration_id=integration_id,
                    fields=details,
                )
            added = ",".join(sorted(details))
    except DecryptError:
        reason = "undecryptable"
    except ProviderError as exc:
        reason = exc.reason.value
    logger.info("install_details type=%s added=%s reason=%s", spec.key, added, reason)


async def _save(
    pending: PendingInstall, data: CallbackInput, spec: ProviderSpec, install: Installation
) -> uuid.UUID:
    actor = credentials.Actor(
        pending.tenant_id, pending.project_id, pending.user_id, pending.user_name, data.ip, data.user_agent
    )
    return await replacements.save_guarded(actor, spec.key, install)


def log_callback(reason: Reason, integration_type: str, pending: PendingInstall | None = None) -> None:
    """The one structured line every callback ends with (reason code and ids, never a secret), counted."""
    metrics.install_ended(integration_type, reason.value)
    logger.info(
        "oauth_callback reason=%s type=%s tenant=%s project=%s",
        reason.value,
        integration_type[:50],
        pending.tenant_id if pending else "-",
        pending.project_id if pending else "-",
    )


def _finish(
    pending: PendingInstall | None,
    data: CallbackInput,
    reason: Reason,
    *,
    status_code: int = 303,
    replacement: str | None = None,
    retry_after: int | None = None,
) -> CallbackOutcome:
    log_callback(reason, data.integration_type, pending)
    if pending is None:
        return CallbackOutcome(reason, None, status_code, retry_after=retry_after)
    query = {"integration": pending.integration_type}
    status = {Reason.INSTALLED: "success", Reason.ADMIN_CONSENT_GRANTED: "info"}.get(reason, "error")
    query = {"status": status, **query} | ({} if status == "success" else {"reason": reason.value})
    if status == "error" and (ref := current("request_id")):
        query["ref"] = ref  # shown with the flash: a report leads to the logs
    if replacement:  # the one-time id of the held replacement, which only this agent can decide on
        query["replace"] = replacement
    return CallbackOutcome(reason, redirects.project_page(pending.project_id, **query), status_code)
