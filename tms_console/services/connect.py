"""Connecting without an OAuth redirect, and picking where notifications go.

Generic over providers: the spec says which fields a connect form has and whether a target (channel,
space, chat) is picked; the provider's hooks (`domain.hooks.ProviderHooks`: connect, reveal,
list_targets, entered_target, preview) do the talking; calls the provider sends to an install's
inbound URL are services/inbound.py's. A test message goes
through the provider's `render_event` and `send_message`, as a delivery does (services/sample_message.py).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from tms_console.domain.errors import NotFound, ServiceError, Unavailable
from tms_console.domain.messages import Outcome, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.values import ConnectContext, Installation, Target
from tms_console.oauth.http import api_for
from tms_console.persistence import repository
from tms_console.persistence.models import IntegrationCredential, ProjectIntegration
from tms_console.providers.config import resolve
from tms_console.providers.registry import get_provider, hooks_for
from tms_console.providers.spec import ProviderSpec
from tms_console.security.identity import Identity
from tms_console.security.keyring import DecryptError
from tms_console.services import audit, credentials, metrics, replacements, sample_message, tokens
from tms_console.services.install_meta import clean_meta
from tms_console.services.installations import needs_target
from tms_console.services.tenancy import require_project
from tms_console.services.unit_of_work import unit_of_work
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.connect")
INBOUND_PATH = "/api/public/integrations/{type}/inbound/{endpoint}"


def _spec(integration_type: str) -> ProviderSpec:
    spec = get_provider(integration_type)
    if spec is None or not spec.available:
        raise NotFound(Reason.NOT_FOUND, "unknown integration type")
    return spec


def validate_fields(spec: ProviderSpec, fields: dict[str, Any]) -> dict[str, Any]:
    """Only the spec's fields, each within its limits; anything else is a clear 400."""
    known = {f.name: f for f in spec.form_fields}
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise ServiceError(Reason.INVALID_INPUT, f"unknown field: {unknown[0][:40]}")
    clean: dict[str, Any] = {}
    for name, form_field in known.items():
        value = fields.get(name)
        if form_field.kind == "choices":
            picked = value if isinstance(value, list) else []
            if not all(isinstance(v, str) and v in form_field.choices for v in picked):
                raise ServiceError(Reason.INVALID_INPUT, f"{form_field.label}: pick from the list")
            if form_field.required and not picked:
                raise ServiceError(Reason.INVALID_INPUT, f"{form_field.label}: pick at least one")
            clean[name] = sorted(set(picked))
            continue
        text = value.strip() if isinstance(value, str) else ""
        if value is not None and not isinstance(value, str):
            raise ServiceError(Reason.INVALID_INPUT, f"{form_field.label}: must be text")
        if form_field.required and not text:
            raise ServiceError(Reason.INVALID_INPUT, f"{form_field.label} is required")
        if len(text) > form_field.max_length or "\x00" in text:
            raise ServiceError(Reason.INVALID_INPUT, f"{form_field.label} is too long or malformed")
        clean[name] = text
    return clean


async def connect(
    identity: Identity,
    *,
    project_id: str,
    integration_type: str,
    fields: dict[str, Any],
    ip: str | None = None,
    user_agent: str | None = None,
) -> dict[str, str]:
    """Connect a provider that has no redirect flow (form or popup kinds).

    Returns what must be shown to the agent exactly once (a webhook's signing secret), or {}.
    """
    spec = _spec(integration_type)
    try:
        revealed = await _connect(identity, spec, project_id, fields, ip, user_agent)
    except ServiceError as exc:
        metrics.install_ended(spec.key, exc.reason.value)
        raise
    metrics.install_ended(spec.key, Reason.INSTALLED.value)
    return revealed


async def _connect(
    identity: Identity,
    spec: ProviderSpec,
    project_id: str,
    fields: dict[str, Any],
    ip: str | None,
    user_agent: str | None,
) -> dict[str, str]:
    async with unit_of_work() as session:  # first: another tenant's project is a plain 404
        project = await require_project(session, identity, project_id)
    if spec.install_kind == "redirect":
        raise ServiceError(Reason.INVALID_INPUT, "this integration is installed through its provider")
    provider = resolve(spec)
    if not provider.configured:
        raise ServiceError(Reason.NOT_CONFIGURED)
    clean = validate_fields(spec, fields)
    endpoint_id = secrets.token_urlsafe(24)
    inbound = get_settings().public_base_url + INBOUND_PATH.format(type=spec.key, endpoint=endpoint_id)
    secret = provider.client_secret.get_secret_value() if provider.client_secret else ""
    context = ConnectContext(endpoint_id, inbound, client_id=provider.client_id or "", client_secret=secret)
    hooks = hooks_for(spec)
    install = await hooks.connect(api_for(provider), clean, context)
    install.meta = clean_meta(provider, install) | {"endpoint_id": endpoint_id}
    actor = credentials.Actor(
        str(identity.tenant_id), str(project.id), identity.user_id, identity.name, ip, user_agent
    )
    await replacements.save_guarded(actor, spec.key, install)
    return hooks.reveal(install.secrets)


async def send_test(
    identity: Identity, *, project_id: str, integration_type: str, origin: audit.Origin = audit.NO_ORIGIN
) -> str:
    """Send a test message to the integration's target: a sample event marked as a test, through the
    same renderer and `send_message` a delivery uses (refreshing the token first when due).

    Returns:
        One sentence for the agent when the provider took it.

    Raises:
        NotFound: unknown type, another tenant's project, or nothing installed there.
        ServiceError: not ready for a test: no target chosen yet, credentials refused, endpoint gone.
        SendTestFailed: the provider did not take it; its detail says why in plain words.
    """
    spec = _spec(integration_type)
    hooks = hooks_for(spec)
    if not hooks.renders_events:
        raise NotFound(Reason.NOT_FOUND, "no test message for this integration")
    row, credential = await _load(identity, project_id, spec)
    meta = dict(row.meta or {})
    sample_message.check_ready(row.status, needs_target=needs_target(spec, meta), provider=spec.name)
    try:
        bundle = await tokens.fresh_bundle(row, credential)
    except DecryptError:
        raise ServiceError(Reason.NEEDS_RECONNECT) from None
    message = sample_message.render(hooks, meta, bundle)
    try:
        result = await hooks.send_message(api_for(resolve(spec)), bundle, meta, message)
    except Exception as exc:  # the contract says hooks never raise; a bug is a failed test, never a 500
        result = SendResult(Outcome.RETRY, reason="send_error", detail=type(exc).__name__)
    logger.info("test_message type=%s outcome=%s reason=%s", spec.key, result.outcome.value, result.reason)
    try:
        said = sample_message.judge(result, spec.name, (spec.target_label or "channel").lower())
    except ServiceError as exc:
        await _record_test(identity, row, exc.reason, origin)
        raise
    await _record_test(identity, row, Reason.TEST_SENT, origin)
    return said


async def _record_test(
    identity: Identity, row: ProjectIntegration, reason: Reason, origin: audit.Origin
) -> None:
    """A test message was sent (taken or not): best effort, the agent is told the result either way."""
    try:
        async with unit_of_work() as session:
            await audit.record_by(session, identity, row, reason, origin=origin, action="test_sent")
    except Unavailable:
        logger.warning("audit_not_recorded reason=%s", reason.value)


def ready_made(integration_type: str, name: str) -> str:
    """One of the provider's ready-made payload templates, by name ("" for an unknown name)."""
    return hooks_for(_spec(integration_type)).ready_made.get(name, "")


def preview(integration_type: str, template: str) -> str:
    """A payload template rendered from a sample event, for the connect form's live preview."""
    return hooks_for(_spec(integration_type)).preview(template)


async def _load(
    identity: Identity, project_id: str, spec: ProviderSpec
) -> tuple[ProjectIntegration, IntegrationCredential]:
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
        found = await repository.get_integration(
            session, tenant_id=identity.tenant_id, project_id=project.id, integration_type=spec.key
        )
    if found is None or found[1] is None:
        raise NotFound(Reason.NOT_FOUND, "integration not installed")
    return found[0], found[1]


async def _load_bundle(
    identity: Identity, project_id: str, spec: ProviderSpec
) -> tuple[ProjectIntegration, dict[str, Any]]:
    """The installed row and its secrets, refreshed when due; unreadable secrets mean reconnect."""
    row, credential = await _load(identity, project_id, spec)
    try:
        return row, await tokens.fresh_bundle(row, credential)
    except DecryptError:
        raise ServiceError(Reason.NEEDS_RECONNECT) from None


async def list_targets(identity: Identity, *, project_id: str, integration_type: str) -> list[Target]:
    """Where this integration's notifications can go, as the provider lists them now."""
    spec = _spec(integration_type)
    if not spec.target_label or hooks_for(spec).enters_target:
        raise NotFound(Reason.NOT_FOUND, "nothing to pick for this integration")
    row, bundle = await _load_bundle(identity, project_id, spec)
    return await hooks_for(spec).list_targets(api_for(resolve(spec)), bundle, dict(row.meta or {}))


async def choose_target(
    identity: Identity,
    *,
    project_id: str,
    integration_type: str,
    target_id: str,
    origin: audit.Origin = audit.NO_ORIGIN,
) -> Target:
    """Store the picked target, if the provider lists it for this install (never a made-up id), or, where
    the agent types it (a recipient's number), once the provider's hooks accept what was typed."""
    spec = _spec(integration_type)
    choice = await _entered(identity, project_id, spec, target_id) or next(
        (t for t in await list_targets(identity, project_id=project_id, integration_type=spec.key)
         if t.id == target_id),
        None,
    )  # fmt: skip
    if choice is None:
        raise ServiceError(Reason.INVALID_INPUT, "pick one of the listed options")
    row, _ = await _load(identity, project_id, spec)
    provider = resolve(spec)
    meta = dict(row.meta or {}) | {"target_id": choice.id, "target_name": choice.name, **choice.extra}
    meta = clean_meta(provider, Installation(meta=meta))
    async with unit_of_work() as session:
        await repository.update_meta(session, tenant_id=identity.tenant_id, integration_id=row.id, meta=meta)
        await audit.record_by(session, identity, row, Reason.TARGET_SAVED, origin=origin)
    return choice


def target_is_typed(integration_type: str) -> bool:
    """Whether the agent types this provider's target (a recipient's number) instead of picking it."""
    spec = get_provider(integration_type) if isinstance(integration_type, str) else None
    return bool(spec and spec.target_label and hooks_for(spec).enters_target)


async def _entered(identity: Identity, project_id: str, spec: ProviderSpec, value: str) -> Target | None:
    """A typed target, checked (None for providers whose targets are picked from a list)."""
    hooks = hooks_for(spec)
    if not spec.target_label or not hooks.enters_target:
        return None
    async with unit_of_work() as session:  # first: another tenant's project is a plain 404
        await require_project(session, identity, project_id)
    return hooks.entered_target(value)
