"""What is installed where, and uninstalling it. Returns view models; never a secret."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from tms_console.oauth import oauth2
from tms_console.oauth.http import ProviderApi
from tms_console.persistence import repository
from tms_console.persistence.models import IntegrationCredential, ProjectIntegration
from tms_console.providers.config import ResolvedProvider, resolve
from tms_console.providers.hooks import load_hooks
from tms_console.providers.registry import PROVIDERS, get_provider
from tms_console.providers.spec import ProviderSpec
from tms_console.security.identity import Identity
from tms_console.security.keyring import DecryptError, Sealed, row_aad
from tms_console.services import audit
from tms_console.services.errors import NotFound, ProviderError
from tms_console.services.reasons import Reason
from tms_console.services.tenancy import require_project, unit_of_work
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.installations")

# Which meta fields name the connected account and the channel, per provider (display only).
_ACCOUNT_FIELDS = ("guild_name", "team_name")
_CHANNEL_FIELDS = ("channel", "channel_name", "channel_id")


@dataclass(frozen=True)
class IntegrationView:
    key: str
    name: str
    description: str
    logo: str
    status: str  # connected | needs_reconnect | not_connected | not_configured | coming_soon
    sandbox: bool = False
    account: str = ""
    channel: str = ""
    installed_by: str = ""
    installed_at: str = ""
    link: str = ""


@dataclass(frozen=True)
class ProjectView:
    id: str
    name: str


async def list_projects(identity: Identity) -> list[ProjectView]:
    async with unit_of_work() as session:
        projects = await repository.list_projects(session, tenant_id=identity.tenant_id)
    return [ProjectView(str(p.id), p.name) for p in projects]


async def list_integrations(identity: Identity, project_id: str) -> list[IntegrationView]:
    """One view per known provider, in registry order, for a project of the identity's tenant."""
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
        rows = await repository.list_integrations(
            session, tenant_id=identity.tenant_id, project_id=project.id
        )
    by_type = {row.integration_type: (row, credential) for row, credential in rows}
    return [_view(spec, *by_type.get(spec.key, (None, None))) for spec in PROVIDERS.values()]


def _view(
    spec: ProviderSpec, row: ProjectIntegration | None, credential: IntegrationCredential | None
) -> IntegrationView:
    base: dict[str, Any] = {
        "key": spec.key,
        "name": spec.name,
        "description": spec.description,
        "logo": spec.logo,
    }
    if not spec.available:
        return IntegrationView(**base, status="coming_soon")
    provider = resolve(spec)
    base["sandbox"] = provider.sandbox
    if row is None:
        return IntegrationView(**base, status="not_connected" if provider.configured else "not_configured")
    meta = row.meta or {}
    readable = credential is not None and _decrypts(row, credential)
    return IntegrationView(
        **base,
        status="connected" if readable and row.status == "active" else "needs_reconnect",
        account=_first(meta, _ACCOUNT_FIELDS),
        channel=_channel(meta),
        installed_by=row.installed_by_name or "",
        installed_at=row.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
        # Stored display URLs were checked at install time; checked again in case rules changed since.
        link=str(meta.get("configuration_url") or "")
        if provider.trusts_url(meta.get("configuration_url"))
        else "",
    )


def _first(meta: dict[str, Any], fields: tuple[str, ...]) -> str:
    return next((str(meta[f]) for f in fields if meta.get(f)), "")


def _channel(meta: dict[str, Any]) -> str:
    name = _first(meta, _CHANNEL_FIELDS)
    if name and name == str(meta.get("channel_id")):
        return f"channel {name}"
    return name if name.startswith("#") or not name else f"#{name}"


def _link(provider: ResolvedProvider, url: object) -> str:
    """Checked at install time already; checked again in case the trusted domains changed since."""
    return str(url) if provider.trusts_url(url) else ""


def _decrypts(row: ProjectIntegration, credential: IntegrationCredential) -> bool:
    try:
        _open(row, credential)
    except DecryptError:
        return False
    return True


def _open(row: ProjectIntegration, credential: IntegrationCredential) -> dict[str, Any]:
    aad = row_aad(
        tenant_id=row.tenant_id,
        project_id=row.project_id,
        integration_type=row.integration_type,
        row_id=row.id,
    )
    sealed = Sealed(credential.key_id, bytes(credential.nonce), bytes(credential.ciphertext))
    return get_settings().keyring().open(sealed, aad=aad)


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
        bundle = _open(row, credential)
    except DecryptError:
        logger.warning("revoke_skipped reason=decrypt_failed type=%s", spec.key)
        return
    provider = resolve(spec)
    hooks = load_hooks(spec)
    hook_revoke = getattr(hooks, "revoke", None)
    try:
        if hook_revoke is not None:
            await hook_revoke(ProviderApi(provider.api_base), bundle)
        elif isinstance(bundle.get("access_token"), str):
            await oauth2.revoke(provider, token=str(bundle["access_token"]))
    except ProviderError as exc:
        logger.warning("revoke_failed reason=%s type=%s", exc.reason.value, spec.key)
