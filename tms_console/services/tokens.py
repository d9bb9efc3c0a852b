"""Access tokens that are still valid when a hook needs them: refresh before use, store what comes back.

Rotating refresh tokens (Microsoft) are stored on every refresh; a refresh response without a new
refresh token (Google) keeps the old one. The row is locked while refreshing, so two workers never
spend the same refresh token.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.errors import NotFound, ServiceError
from tms_console.domain.reasons import Reason
from tms_console.oauth import oauth2
from tms_console.persistence import repository
from tms_console.persistence.models import IntegrationCredential, ProjectIntegration
from tms_console.providers.config import resolve
from tms_console.providers.registry import get_provider, hooks_for
from tms_console.security.keyring import configured_keyring, row_aad
from tms_console.services import credentials, metrics
from tms_console.services.install_meta import installation_from_token
from tms_console.services.unit_of_work import unit_of_work

logger = logging.getLogger("tms_console.tokens")
EARLY = timedelta(seconds=60)  # refresh a little before the provider would refuse the token


def refresh_due(credential: IntegrationCredential) -> bool:
    """Whether the access token expires within a minute (or has expired)."""
    expires = credential.expires_at
    if expires is None:
        return False
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return expires - EARLY <= datetime.now(UTC)


class RefreshRefused(ServiceError):
    """The token endpoint refused the refresh token (`reason`, e.g. INVALID_GRANT: revoked or expired)."""


async def fresh_bundle(row: ProjectIntegration, credential: IntegrationCredential) -> dict[str, Any]:
    """The row's secrets, refreshed first when the access token is (nearly) expired."""
    spec = get_provider(row.integration_type)
    bundle = credentials.open_bundle(row, credential)
    if spec is None or not spec.refresh or not refresh_due(credential) or not bundle.get("refresh_token"):
        return bundle
    async with unit_of_work() as session:
        found = await repository.get_integration(
            session,
            tenant_id=row.tenant_id,
            project_id=row.project_id,
            integration_type=row.integration_type,
            lock=True,
        )
        locked_row, locked = found if found else (None, None)
        if locked_row is None or locked is None:
            raise NotFound(Reason.NOT_FOUND, "integration not installed")
        bundle = credentials.open_bundle(locked_row, locked)
        if not refresh_due(locked):  # another worker refreshed while we waited for the lock
            return bundle
        try:
            return await refresh_locked(session, locked_row, bundle)
        except RefreshRefused:
            raise ServiceError(Reason.NEEDS_RECONNECT) from None


async def refresh_locked(
    session: AsyncSession, row: ProjectIntegration, bundle: dict[str, Any]
) -> dict[str, Any]:
    """Spend the bundle's refresh token once and store what comes back; the new bundle. The caller holds
    the row's lock (FOR UPDATE) and opened `bundle` under it, so two workers never spend one token.

    Raises:
        RefreshRefused: the provider refused (its reason); nothing was stored.
        ProviderError: the token endpoint failed for now (unreachable, 5xx, 429); nothing was stored.
    """
    spec = get_provider(row.integration_type)
    assert spec is not None
    provider = resolve(spec)
    try:
        status, body = await oauth2.refresh_grant(provider, refresh_token=str(bundle["refresh_token"]))
    except ServiceError as exc:  # the provider could not be reached or answered nonsense
        metrics.refresh_failed(spec.key, exc.reason.value)
        raise
    try:
        token = oauth2.judge_token_response(hooks_for(spec), status, body, refreshing=True)
    except ServiceError as exc:
        logger.warning("refresh_failed reason=%s type=%s", exc.reason.value, spec.key)
        metrics.refresh_failed(spec.key, exc.reason.value)
        raise RefreshRefused(exc.reason) from None
    fresh = installation_from_token(provider, token)
    bundle = bundle | fresh.secrets  # no new refresh token in the answer: the old one stays
    aad = row_aad(
        tenant_id=row.tenant_id,
        project_id=row.project_id,
        integration_type=row.integration_type,
        row_id=row.id,
    )
    sealed = configured_keyring().seal(bundle, aad=aad)
    await repository.replace_credentials(
        session, integration_id=row.id, sealed=sealed, expires_at=fresh.expires_at
    )
    logger.info("token_refreshed type=%s", spec.key)
    return bundle
