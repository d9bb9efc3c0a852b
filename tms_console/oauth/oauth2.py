"""OAuth 2.0 authorization-code mechanics, driven by a provider spec (no provider names here)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import quote_plus, urlencode

from tms_console.domain.errors import ProviderError
from tms_console.domain.hooks import ProviderHooks
from tms_console.domain.reasons import Reason
from tms_console.oauth.http import expect_json_object, request
from tms_console.providers.config import ResolvedProvider

# RFC 6749 4.1.2.1 / 5.2 error codes -> our reasons. Anything else is a generic provider error.
_AUTHORIZE_ERRORS = {
    "access_denied": Reason.ACCESS_DENIED,
    "invalid_scope": Reason.INVALID_SCOPE,
    "unauthorized_client": Reason.INVALID_CLIENT,
    "invalid_client": Reason.INVALID_CLIENT,
    "invalid_request": Reason.INVALID_REQUEST,
    "unsupported_response_type": Reason.INVALID_REQUEST,
    "server_error": Reason.PROVIDER_UNAVAILABLE,
    "temporarily_unavailable": Reason.PROVIDER_UNAVAILABLE,
}
_TOKEN_ERRORS = {
    "redirect_uri_mismatch": Reason.REDIRECT_URI_MISMATCH,  # Google
    "unsupported_grant_type": Reason.INVALID_REQUEST,
    "invalid_grant": Reason.INVALID_GRANT,
    "invalid_client": Reason.INVALID_CLIENT,
    "unauthorized_client": Reason.INVALID_CLIENT,
    "invalid_scope": Reason.INVALID_SCOPE,
    "invalid_request": Reason.INVALID_REQUEST,
}


# Microsoft: the user may not consent alone; an administrator must approve the app tenant-wide.
_ADMIN_CONSENT_CODES = ("AADSTS65001", "AADSTS90094", "AADSTS90008")


def authorize_error_reason(error: str, description: str = "") -> Reason:
    if error == "consent_required" or (
        error in ("interaction_required", "access_denied")
        and any(c in description for c in _ADMIN_CONSENT_CODES)
    ):
        return Reason.ADMIN_CONSENT_REQUIRED
    return _AUTHORIZE_ERRORS.get(error, Reason.PROVIDER_ERROR)


def admin_consent_url(provider: ResolvedProvider, *, state: str) -> str:
    """Microsoft's `/{tenant}/v2.0/adminconsent`, next to the authorize endpoint, asking for the
    app's configured permissions (`.default`)."""
    base = provider.authorize_url.split("/oauth2/", 1)[0]
    params = {
        "client_id": provider.client_id or "",
        "redirect_uri": provider.redirect_uri,
        "state": state,
        "scope": "https://graph.microsoft.com/.default",
    }
    return f"{base}{provider.spec.admin_consent_path}?{urlencode(params)}"


def new_pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(provider: ResolvedProvider, *, state: str, code_challenge: str | None) -> str:
    spec = provider.spec
    params: dict[str, str] = {
        "client_id": provider.client_id or "",
        "scope": spec.scope_separator.join(spec.scopes),
        "redirect_uri": provider.redirect_uri,
        "state": state,
        **spec.authorize_params,
    }
    if code_challenge:
        params |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
    return f"{provider.authorize_url}?{urlencode(params)}"


def _client_auth(provider: ResolvedProvider, form: dict[str, str]) -> dict[str, Any]:
    assert provider.client_id is not None and provider.client_secret is not None
    secret = provider.client_secret.get_secret_value()
    if provider.spec.client_auth == "basic":
        # RFC 6749 §2.3.1: both parts are form-encoded before Basic (a secret may hold ':' or '+').
        return {"auth": (quote_plus(provider.client_id), quote_plus(secret)), "data": form}
    return {"data": form | {"client_id": provider.client_id, "client_secret": secret}}


async def exchange_code(
    provider: ResolvedProvider, *, code: str, code_verifier: str | None
) -> tuple[int, dict[str, Any]]:
    """POST the token endpoint once (form body). Returns (status, JSON object) for the hook to judge."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": provider.redirect_uri}
    if code_verifier:
        form["code_verifier"] = code_verifier
    status, body = await request(
        "POST", provider.api_base + provider.spec.token_path, **_client_auth(provider, form)
    )
    return status, expect_json_object(status, body)


def check_token_response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """RFC 6749 5.2 handling: an `error` member or a non-2xx status is a failure with a reason."""
    if status >= 400 or "error" in body:
        error = str(body.get("error", ""))
        description = str(body.get("error_description", ""))
        # Microsoft reports a redirect mismatch as invalid_client with AADSTS50011.
        if "redirect_uri" in description or "AADSTS50011" in description:
            raise ProviderError(Reason.REDIRECT_URI_MISMATCH, f"token endpoint: {error}")
        raise ProviderError(_TOKEN_ERRORS.get(error, Reason.PROVIDER_ERROR), f"token endpoint: {error}")
    if not isinstance(body.get("access_token"), str):
        raise ProviderError(Reason.BAD_RESPONSE, "token response has no access_token")
    return body


def judge_token_response(
    hooks: ProviderHooks, status: int, body: dict[str, Any], *, refreshing: bool = False
) -> dict[str, Any]:
    """The provider's own judgement of a token response when it has one, RFC 6749 §5.2 otherwise."""
    if hooks.judges_token_response:
        return hooks.check_token_response(status, body, refreshing=refreshing)
    return check_token_response(status, body)


async def revoke(provider: ResolvedProvider, *, token: str) -> None:
    """Best effort RFC 7009 revocation; callers decide what a failure means."""
    if not provider.spec.revoke_path:
        return
    form = {"token": token, "token_type_hint": "access_token"}
    status, _ = await request(
        "POST", provider.api_base + provider.spec.revoke_path, **_client_auth(provider, form)
    )
    if status >= 400:
        raise ProviderError(Reason.PROVIDER_ERROR, f"revoke answered {status}")


async def refresh_grant(provider: ResolvedProvider, *, refresh_token: str) -> tuple[int, dict[str, Any]]:
    """RFC 6749 §6: trade a refresh token for new tokens (once; the caller stores what comes back)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    status, body = await request(
        "POST", provider.api_base + provider.spec.token_path, **_client_auth(provider, form)
    )
    return status, expect_json_object(status, body)


def popup_url(provider: ResolvedProvider) -> str:
    """The provider's dialog for a popup signup (Meta's Embedded Signup): the result comes back to
    the console page by postMessage, which checks the popup's origin, so no state is carried."""
    spec = provider.spec
    params = {
        "client_id": provider.client_id or "",
        "redirect_uri": provider.redirect_uri,
        "scope": spec.scope_separator.join(spec.scopes),
        **spec.authorize_params,
        **{param: provider.settings.get(name, "") for param, name in spec.authorize_settings.items()},
    }
    return f"{provider.authorize_url}?{urlencode(params)}"
