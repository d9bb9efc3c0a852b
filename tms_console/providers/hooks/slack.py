"""Slack: failures come back as HTTP 200 with `ok: false`; `auth.test` confirms the bot token."""

from __future__ import annotations

from typing import Any

from tms_console.domain.errors import ProviderError
from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks, ProviderHttp
from tms_console.domain.messages import Outcome, RenderedMessage, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.values import Meta, Secrets
from tms_console.providers.hooks._send import Answer, attempt, delivered, missing_target, result
from tms_console.providers.render.slack import render as render_slack

_ERRORS = {
    "invalid_client_id": Reason.INVALID_CLIENT,
    "bad_client_secret": Reason.INVALID_CLIENT,
    "invalid_code": Reason.INVALID_GRANT,
    "code_already_used": Reason.INVALID_GRANT,
    "bad_redirect_uri": Reason.REDIRECT_URI_MISMATCH,
    "oauth_authorization_url_mismatch": Reason.REDIRECT_URI_MISMATCH,
    "invalid_grant_type": Reason.INVALID_REQUEST,
    "invalid_refresh_token": Reason.INVALID_GRANT,  # rotation: revoked, expired or spent (§2.5)
    "no_scopes": Reason.INVALID_SCOPE,
    "ratelimited": Reason.RATE_LIMITED,
}

# chat.postMessage errors that no retry fixes: the token or the channel is gone (DELIVERY.md).
_RECONNECT = frozenset(
    {
        "invalid_auth",
        "token_revoked",
        "account_inactive",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
    }
)


def judge_post(answer: Answer, *, first: bool) -> SendResult:
    """A chat.postMessage (or auth.test) answer: Slack reports failures as HTTP 200 with `ok: false` and a
    word."""
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status < 300 and body.get("ok") is True:
        return delivered(answer, str(body.get("ts") or "") if first else "")
    error = str(body.get("error") or "")
    if error in _RECONNECT:
        return result(Outcome.AUTH_FAILED, answer, error)
    if error == "ratelimited":
        return result(Outcome.RETRY, answer, error)
    if not error and answer.status < 300:  # not Slack's answer (an HTML page): maybe a proxy hiccup
        return result(Outcome.RETRY, answer, Reason.BAD_RESPONSE.value)
    return result(Outcome.REJECTED, answer, error or f"http_{answer.status}")


class SlackHooks(ProviderHooks):
    judges_token_response = True
    revokes = True
    renders_events = True
    probes = True

    def render_event(self, event: TicketEvent, meta: Meta, *, template: str = "") -> RenderedMessage:
        return render_slack(event)

    async def send_message(
        self,
        api: ProviderHttp,
        bundle: Secrets,
        meta: Meta,
        message: RenderedMessage,
        *,
        thread_handle: str = "",
    ) -> SendResult:
        """`chat.postMessage` to the install's channel with the bot token; the first `ts` is the thread."""
        channel = str(meta.get("target_id") or meta.get("channel_id") or "")
        if not channel:
            return missing_target("channel")
        token = str(bundle.get("access_token") or "")
        payload = dict(message.payload) | {"channel": channel}
        if thread_handle:
            payload["thread_ts"] = thread_handle
        answer = await attempt(api, "POST", "/chat.postMessage", bearer=token, json=payload, secrets=(token,))
        return answer if isinstance(answer, SendResult) else judge_post(answer, first=not thread_handle)

    async def probe(self, api: ProviderHttp, bundle: Secrets, meta: Meta) -> SendResult | None:
        """`auth.test` with the bot token: `ok: true`, or the word saying it was revoked (`invalid_auth`,
        `token_revoked`, `account_inactive`)."""
        token = str(bundle.get("access_token") or "")
        answer = await attempt(api, "POST", "/auth.test", bearer=token, secrets=(token,))
        return answer if isinstance(answer, SendResult) else judge_post(answer, first=False)

    def check_token_response(
        self, status: int, body: dict[str, Any], *, refreshing: bool = False
    ) -> dict[str, Any]:
        """oauth.v2.access: `ok: false` with a word on failure. A rotation refresh (§2.5) answers with the
        new tokens only; an install must also name the team and the incoming webhook's channel."""
        if body.get("ok") is not True:
            error = str(body.get("error", ""))
            raise ProviderError(_ERRORS.get(error, Reason.PROVIDER_ERROR), f"oauth.v2.access: {error}")
        if not isinstance(body.get("access_token"), str):
            raise ProviderError(Reason.BAD_RESPONSE, "oauth.v2.access without token")
        if refreshing:
            return body
        if not isinstance(body.get("team"), dict):
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
