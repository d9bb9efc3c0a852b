"""What is installed where, and uninstalling it. Returns view models; never a secret."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tms_console.domain import status_reasons
from tms_console.domain.errors import NotFound, ProviderError
from tms_console.domain.reasons import Reason
from tms_console.domain.status import CardStatus, IntegrationStatus
from tms_console.oauth import oauth2
from tms_console.oauth.http import api_for
from tms_console.persistence import delivery_health, repository
from tms_console.persistence.models import (
    DeliveryHealth,
    IntegrationCredential,
    ProjectIntegration,
    utcnow,
)
from tms_console.providers.config import ResolvedProvider, resolve
from tms_console.providers.registry import PROVIDERS, get_provider, hooks_for
from tms_console.providers.spec import ProviderSpec
from tms_console.security.identity import Identity
from tms_console.security.keyring import DecryptError
from tms_console.services import audit, credentials, last_delivery
from tms_console.services.last_delivery import LastDelivery
from tms_console.services.subscriptions import received_event_types
from tms_console.services.tenancy import require_project
from tms_console.services.unit_of_work import unit_of_work

logger = logging.getLogger("tms_console.installations")

# Which meta fields name the connected account and the channel, across providers (display only).
# Providers added later write the generic `account_name` / `target_name`.
ACCOUNT_FIELDS = ("guild_name", "team_name", "account_name")
CHANNEL_FIELDS = ("target_name", "channel", "channel_name", "channel_id")


@dataclass(frozen=True)
class IntegrationView:
    key: str
    name: str
    description: str
    logo: str
    status: CardStatus
    stand_in: bool = False  # a local stand-in plays the provider (dev and test)
    account: str = ""
    channel: str = ""
    installed_by: str = ""
    installed_at: str = ""
    link: str = ""
    install_kind: str = "redirect"  # redirect | form | popup (ProviderSpec.install_kind)
    target_label: str = ""  # set when the agent picks a channel/space/chat after connecting
    popup_url: str = ""
    popup_origin: str = ""
    popup_message_type: str = ""
    can_test: bool = False  # the provider can send a test message (every provider that carries events)
    target_entry: bool = False  # the target is typed in (a phone number), not picked from a list
    events: list[str] = field(default_factory=list)  # the ticket event types it receives (installed only)
    last_delivery: LastDelivery | None = None  # None: nothing delivered (or tried) since installed
    status_note: str = ""  # what the status means and what fixes it ("" when working or not installed)
    status_since: str = ""  # when the status last changed ("" when it has not since installed)


@dataclass(frozen=True)
class ProjectView:
    id: str
    name: str


async def list_projects(identity: Identity) -> list[ProjectView]:
    async with unit_of_work() as session:
        projects = await repository.list_projects(session, tenant_id=identity.tenant_id)
    return [ProjectView(str(p.id), p.name) for p in projects]


@dataclass(frozen=True)
class ProjectPage:
    """What a project's integrations page shows: the tenant's projects, and the project's cards."""

    projects: list[ProjectView]
    project: ProjectView | None  # None: not a project of the caller's tenant
    integrations: list[IntegrationView]


async def project_page(identity: Identity, project_id: str) -> ProjectPage:
    """The tenant's projects and, when `project_id` is one of them, one view per provider there."""
    projects = await list_projects(identity)
    project = next((p for p in projects if p.id == project_id), None)
    views = await list_integrations(identity, project.id) if project else []
    return ProjectPage(projects, project, views)


async def list_integrations(identity: Identity, project_id: str) -> list[IntegrationView]:
    """One view per known provider, in registry order, for a project of the identity's tenant; the
    integrations, then their last deliveries (one query for all cards)."""
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
        rows = await repository.list_integrations(
            session, tenant_id=identity.tenant_id, project_id=project.id
        )
        health = await delivery_health.of_integrations(
            session, tenant_id=identity.tenant_id, integration_ids=[row.id for row, _ in rows]
        )
    by_type = {row.integration_type: (row, credential) for row, credential in rows}
    now = utcnow()
    views = []
    for spec in PROVIDERS.values():
        row, credential = by_type.get(spec.key, (None, None))
        view = _view(spec, row, credential)
        views.append(_with_last_delivery(view, health.get(row.id) if row else None, now))
    return views


def _with_last_delivery(view: IntegrationView, row: DeliveryHealth | None, now: datetime) -> IntegrationView:
    return replace(view, last_delivery=last_delivery.of(row, now)) if row else view


def _view(
    spec: ProviderSpec, row: ProjectIntegration | None, credential: IntegrationCredential | None
) -> IntegrationView:
    base: dict[str, Any] = {
        "key": spec.key,
        "name": spec.name,
        "description": spec.description,
        "logo": spec.logo,
        "install_kind": spec.install_kind,
        "target_label": spec.target_label,
        "can_test": hooks_for(spec).renders_events,
        "target_entry": hooks_for(spec).enters_target,
    }
    if not spec.available:
        return IntegrationView(**base, status=CardStatus.COMING_SOON)
    provider = resolve(spec)
    base["stand_in"] = provider.stand_in
    if spec.install_kind == "popup" and provider.configured:
        base["popup_url"] = oauth2.popup_url(provider)
        base["popup_origin"] = _origin(provider.authorize_url)
        base["popup_message_type"] = spec.popup_message_type
    if row is None:
        unset = CardStatus.NOT_CONNECTED if provider.configured else CardStatus.NOT_CONFIGURED
        return IntegrationView(**base, status=unset)
    meta = row.meta or {}
    readable = credential is not None and _decrypts(row, credential)
    status = IntegrationStatus.of_row(row.status, readable=readable, needs_target=needs_target(spec, meta))
    return IntegrationView(
        **base,
        status=status.card,
        status_note=status_reasons.explain(status.value, row.status_reason),
        status_since=stamp(row.status_changed_at),
        account=first_of(meta, ACCOUNT_FIELDS),
        channel=_channel(meta),
        installed_by=row.installed_by_name or "",
        installed_at=row.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
        link=_link(provider, meta.get("configuration_url")),
        events=received_event_types(meta),
    )


def stamp(moment: datetime | None) -> str:
    """A moment as the console shows it (UTC, to the minute); "" for none."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def needs_target(spec: ProviderSpec, meta: dict[str, Any]) -> bool:
    """Connected, but nobody picked where its notifications go yet (the overview's SQL says the same)."""
    return bool(spec.target_label) and not meta.get("target_id")


def first_of(meta: dict[str, Any], fields: tuple[str, ...]) -> str:
    return next((str(meta[f]) for f in fields if meta.get(f)), "")


def _channel(meta: dict[str, Any]) -> str:
    name = first_of(meta, CHANNEL_FIELDS)
    if name and name == str(meta.get("channel_id")):
        return f"channel {name}"
    return name if name.startswith(("#", "+")) or not name else f"#{name}"  # "+": a phone number


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _link(provider: ResolvedProvider, url: object) -> str:
    """Checked at install time already; checked again in case the trusted domains changed since."""
    return str(url) if provider.trusts_url(url) else ""


def _decrypts(row: ProjectIntegration, credential: IntegrationCredential) -> bool:
    try:
        credentials.open_bundle(row, credential)
    except DecryptError:
        return False
    return True


async def uninstall(
    identity: Identity,
    *,
    project_id: str,
    integration_type: str,
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    """Delete the row and its credentials (keeping the audit), then revoke at the provider (best effort).

    Read, delete and audit happen in one transaction holding the row, so a reinstall racing this
    either lands before (and its token is the one revoked) or after (and stays installed); the token
    revoked is always the one deleted.
    """
    spec = get_provider(integration_type)
    if spec is None:
        raise NotFound(Reason.NOT_FOUND, "unknown integration type")
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
        found = await repository.get_integration(
            session, tenant_id=identity.tenant_id, project_id=project.id, integration_type=spec.key, lock=True
        )
        if found is None:
            raise NotFound(Reason.NOT_FOUND, "integration not installed")
        row, credential = found
        await repository.delete_integration(session, integration_id=row.id)
        await audit.record(
            session,
            tenant_id=row.tenant_id,
            project_id=row.project_id,
            integration_type=spec.key,
            reason=Reason.UNINSTALLED,
            actor_id=identity.user_id,
            actor_name=identity.name,
            integration_id=row.id,
            ip=ip,
            user_agent=user_agent,
        )
    if credential is not None:
        await _revoke_best_effort(spec, row, credential)


async def _revoke_best_effort(
    spec: ProviderSpec, row: ProjectIntegration, credential: IntegrationCredential
) -> None:
    try:
        bundle = credentials.open_bundle(row, credential)
    except DecryptError:
        logger.warning("revoke_skipped reason=decrypt_failed type=%s", spec.key)
        return
    provider, hooks = resolve(spec), hooks_for(spec)
    try:
        if hooks.revokes:
            await hooks.revoke(api_for(provider), bundle)
        elif isinstance(bundle.get("access_token"), str):
            await oauth2.revoke(provider, token=str(bundle["access_token"]))
    except ProviderError as exc:
        logger.warning("revoke_failed reason=%s type=%s", exc.reason.value, spec.key)
