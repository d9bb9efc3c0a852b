"""Connecting without an OAuth redirect, picking where notifications go, and provider calls coming in.

Generic over providers: the spec says which fields a connect form has and whether a target (channel,
space, chat) is picked; the provider's hook does the talking. Hooks may define:

- `async connect(api, fields, ctx) -> Installation`: validate the fields with the provider (a bot
  token with getMe, a webhook URL, an embedded-signup code) and return what to store.
- `async list_targets(api, bundle, meta) -> list[Target]`: where notifications can go.
- `verify_inbound(headers, bundle) -> bool` and `on_inbound(body, meta) -> dict | None`: authenticate
  a call to the public inbound URL and fold it into `meta` (e.g. a chat the bot was added to).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from tms_console.domain.errors import NotFound, ServiceError, Unavailable
from tms_console.domain.reasons import Reason
from tms_console.persistence import repository
from tms_console.persistence.db import DatabaseUnavailable, session_scope
from tms_console.providers.config import ResolvedProvider, resolve
from tms_console.providers.hooks import load_hooks
from tms_console.providers.registry import get_provider
from tms_console.providers.spec import Installation, ProviderSpec, Target
from tms_console.security.identity import Identity
from tms_console.security.keyring import DecryptError
from tms_console.services import credentials, tokens
from tms_console.services.install import clean_meta
from tms_console.services.tenancy import require_project, unit_of_work
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.connect")
INBOUND_PATH = "/api/public/integrations/{type}/inbound/{endpoint}"


@dataclass(frozen=True)
class ConnectContext:
    """What a connect hook may know about this deployment (never the database)."""

    provider: ResolvedProvider
    endpoint_id: str  # random, names this install's public inbound URL
    inbound_url: str

    @property
    def client_secret(self) -> str:
        secret = self.provider.client_secret
        return secret.get_secret_value() if secret else ""


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
    hooks = load_hooks(spec)
    context = ConnectContext(provider, endpoint_id, inbound)
    install: Installation = await hooks.connect(provider.api(), clean, context)  # type: ignore[union-attr]
    install.meta = clean_meta(provider, install) | {"endpoint_id": endpoint_id}
    actor = credentials.Actor(
        str(identity.tenant_id), str(project.id), identity.user_id, identity.name, ip, user_agent
    )
    try:
        await credentials.save_installation(actor, spec.key, install)
    except DatabaseUnavailable:
        raise Unavailable(Reason.NOT_SAVED, "database unavailable") from None
    reveal = getattr(hooks, "reveal", None)
    return reveal(install.secrets) if reveal else {}


async def send_test(identity: Identity, *, project_id: str, integration_type: str) -> str:
    """Send the provider's test message (signed sample event for webhooks); a short outcome line."""
    spec = _spec(integration_type)
    hooks = load_hooks(spec)
    if hooks is None or not hasattr(hooks, "send_test"):
        raise NotFound(Reason.NOT_FOUND, "no test message for this integration")
    row, credential = await _load(identity, project_id, spec)
    try:
        bundle = await tokens.fresh_bundle(row, credential)
    except DecryptError:
        raise ServiceError(Reason.NEEDS_RECONNECT) from None
    result: str = await hooks.send_test(resolve(spec).api(), bundle, dict(row.meta or {}))
    return result


def ready_made(integration_type: str, name: str) -> str:
    """One of the provider's ready-made payload templates, by name ("" for an unknown name)."""
    hooks = load_hooks(_spec(integration_type))
    templates: dict[str, str] = getattr(hooks, "READY_MADE", {})
    return templates.get(name, "")


def preview(integration_type: str, template: str) -> str:
    """A payload template rendered from a sample event, for the connect form's live preview."""
    spec = _spec(integration_type)
    hooks = load_hooks(spec)
    if hooks is None or not hasattr(hooks, "preview"):
        raise NotFound(Reason.NOT_FOUND, "no preview for this integration")
    text: str = hooks.preview(template)
    return text


async def _load(identity: Identity, project_id: str, spec: ProviderSpec) -> tuple[Any, Any]:
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
        found = await repository.get_integration(
            session, tenant_id=identity.tenant_id, project_id=project.id, integration_type=spec.key
        )
    if found is None or found[1] is None:
        raise NotFound(Reason.NOT_FOUND, "integration not installed")
    return found


async def list_targets(identity: Identity, *, project_id: str, integration_type: str) -> list[Target]:
    """Where this integration's notifications can go, as the provider lists them now."""
    spec = _spec(integration_type)
    hooks = load_hooks(spec)
    if not spec.target_label or hooks is None:
        raise NotFound(Reason.NOT_FOUND, "nothing to pick for this integration")
    row, credential = await _load(identity, project_id, spec)
    try:
        bundle = await tokens.fresh_bundle(row, credential)
    except DecryptError:
        raise ServiceError(Reason.NEEDS_RECONNECT) from None
    targets: list[Target] = await hooks.list_targets(resolve(spec).api(), bundle, dict(row.meta or {}))
    return targets


async def choose_target(
    identity: Identity, *, project_id: str, integration_type: str, target_id: str
) -> Target:
    """Store the picked target, if the provider lists it for this install (never a made-up id)."""
    spec = _spec(integration_type)
    choice = next(
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
    return choice


async def inbound(integration_type: str, endpoint_id: str, headers: dict[str, str], body: Any) -> bool:
    """A provider calling the public inbound URL. True when accepted; False looks like 404 outside."""
    spec = get_provider(integration_type)
    hooks = load_hooks(spec) if spec else None
    if spec is None or hooks is None or not hasattr(hooks, "on_inbound") or len(endpoint_id) > 64:
        return False
    async with session_scope() as session:
        found = await repository.find_by_endpoint(session, integration_type=spec.key, endpoint_id=endpoint_id)
        row, credential = found if found else (None, None)
        if row is None or credential is None:
            return False
        try:
            bundle = credentials.open_bundle(row, credential)
        except DecryptError:
            return False
        if not hooks.verify_inbound(headers, bundle):
            logger.info("inbound_rejected type=%s reason=bad_secret", spec.key)
            return False
        meta = hooks.on_inbound(body, dict(row.meta or {}))
        if meta is not None:
            meta = clean_meta(resolve(spec), Installation(meta=meta))
            await repository.update_meta(session, tenant_id=row.tenant_id, integration_id=row.id, meta=meta)
    return True
