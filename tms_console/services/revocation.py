"""Revoking credentials at the provider, best effort: after an uninstall, and after a reinstall replaced
them (the old ones) or a replacement was refused (the new ones). Logs a reason code, never a token."""

from __future__ import annotations

import logging

from tms_console.domain.errors import ProviderError
from tms_console.domain.values import Secrets
from tms_console.oauth import oauth2
from tms_console.oauth.http import api_for
from tms_console.providers.config import resolve
from tms_console.providers.registry import hooks_for
from tms_console.providers.spec import ProviderSpec

logger = logging.getLogger("tms_console.revocation")


async def revoke_quietly(spec: ProviderSpec, bundle: Secrets, *, why: str) -> None:
    """The provider's revoke hook, or RFC 7009 revocation of the access token; a failure is logged."""
    provider, hooks = resolve(spec), hooks_for(spec)
    try:
        if hooks.revokes:
            await hooks.revoke(api_for(provider), bundle)
        elif isinstance(bundle.get("access_token"), str):
            await oauth2.revoke(provider, token=str(bundle["access_token"]))
        else:
            return
    except ProviderError as exc:
        logger.warning("revoke_failed reason=%s type=%s why=%s", exc.reason.value, spec.key, why)
        return
    logger.info("revoked type=%s why=%s", spec.key, why)
