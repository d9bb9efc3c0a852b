"""Slack: failures come back as HTTP 200 with `ok: false`; `auth.test` confirms the bot token."""

from __future__ import annotations

from typing import Any

from tms_console.domain.errors import ProviderError
from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks, ProviderHttp
from tms_console.domain.messages import RenderedMessage
from tms_console.domain.reasons import Reason
from tms_console.domain.values import Meta, Secrets
from tms_console.providers.render.slack import render as render_slack

_ERRORS = {
    "invalid_client_id": Reason.INVALID_CLIENT,
    "bad_client_secret": Reason.INVALID_CLIENT,
    "invalid_code": Reason.INVALID_GRANT,
    "code_already_used": Reason.INVALID_GRANT,
    "bad_redirect_uri": Reason.REDIRECT_URI_MISMATCH,
    "oauth_authorization_url_mismatch": Reason.REDIRECT_URI_MISMATCH,
    "invalid_grant_type": Reason.INVALID_REQUEST,
    "no_scopes": Reason.INVALID_SCOPE,
    "ratelimited": Reason.RATE_LIMITED,
}


class SlackHooks(ProviderHooks):
    judges_token_response = True
    revokes = True
    renders_events = True

    def render_event(self, event: TicketEvent, meta: Meta, *, template: str = "") -> RenderedMessage:
        return render_slack(event)

    def check_token_response(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("ok") is not True:
            error = str(body.get("error", ""))
            raise ProviderError(_ERRORS.get(error, Reason.PROVIDER_ERROR), f"oauth.v2.access: {error}")
        if not isinstance(body.get("access_token"), str) or not isinstance(body.get("team"), dict):
            raise ProviderError(Reason.BAD_RESPONSE, "oauth.v2.access without token or team")
        if not isinstance(body.get("incoming_webhook"), dict):
            raise ProviderError(Reason.MISSING_CHANNEL, "no incoming_webhook in response")
        return body

    async def after_install(self, api: ProviderHttp, token: dict[str, Any], meta: Meta) -> None:
        result = await api.call("POST", "/auth.test", bearer=token["access_token"])
        if not isinstance(result, dict) or result.get("ok") is not True:
            raise ProviderError(Reason.PROVIDER_ERROR, "auth.test failed")
        meta["bot_id"] = str(result.get("bot_id") or "")
        meta["team_url"] = str(result.get("url") or "")

    async def revoke(self, api: ProviderHttp, bundle: Secrets) -> None:
        result = await api.call("POST", "/auth.revoke", bearer=str(bundle.get("access_token", "")))
        if not isinstance(result, dict) or result.get("ok") is not True:
            raise ProviderError(Reason.PROVIDER_ERROR, "auth.revoke failed")
