"""Slack: failures come back as HTTP 200 with `ok: false`; `auth.test` confirms the bot token; the Events
API tells us when the app is uninstalled or its tokens revoked (signed with the app's signing secret)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tms_console.domain.errors import ProviderError
from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks, ProviderHttp
from tms_console.domain.inbound import InboundRefused, Reply, StatusEvent, Verified
from tms_console.domain.messages import Outcome, RenderedMessage, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.domain.values import Meta, Secrets
from tms_console.providers.hooks._inbound import json_object, obj, require_fresh, text
from tms_console.providers.hooks._send import Answer, attempt, delivered, missing_target, result
from tms_console.providers.render.slack import notice as render_slack_notice
from tms_console.providers.render.slack import render as render_slack
from tms_console.security.provider_signatures import body_id, matches_hmac

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

# Events API (PROVIDERS.md §2.9): what an event does to the installs of its workspace and app.
_STATUS_EVENTS = {
    "app_uninstalled": "uninstalled_by_provider",
    "tokens_revoked": "tokens_revoked",
}
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


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
    sends_notices = True
    receives_events = True
    probes = True

    def render_event(self, event: TicketEvent, meta: Meta, *, template: str = "") -> RenderedMessage:
        return render_slack(event)

    def render_notice(self, text: str) -> RenderedMessage:
        return render_slack_notice(text)

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

    def read_event(self, headers: Mapping[str, str], body: bytes, keys: Secrets, now: float) -> Verified:
        """`X-Slack-Signature: v0=hex(HMAC-SHA256(signing secret, "v0:" + ts + ":" + body))`, at most 5
        minutes old; `url_verification` answers its challenge, an event is acknowledged with 200 (a
        retry carries the same `event_id`)."""
        timestamp, signature = (
            headers.get("x-slack-request-timestamp", ""),
            headers.get("x-slack-signature", ""),
        )
        if not timestamp or not signature:
            raise InboundRefused("missing_signature")
        if not _TIMESTAMP.match(timestamp):
            raise InboundRefused("malformed")
        secret = str(keys.get("signing_secret") or "")
        message = b"v0:" + timestamp.encode() + b":" + body
        if not matches_hmac(signature, secret=secret, message=message, prefix="v0="):
            raise InboundRefused("bad_signature")
        require_fresh(timestamp, now)
        payload = json_object(body)
        if payload.get("type") == "url_verification":
            challenge = str(payload.get("challenge") or "")
            if not _CHALLENGE.match(challenge):
                raise InboundRefused("malformed")
            return Verified(body_id(body), Reply(200, challenge, "text/plain"))
        event_id = text(payload.get("event_id")) or body_id(body)
        return Verified(event_id, Reply(200), _status_events(payload))


def _status_events(payload: dict[str, Any]) -> tuple[StatusEvent, ...]:
    """`app_uninstalled`, or `tokens_revoked` naming bot tokens (we hold no user token), for the
    workspace and app the envelope names."""
    event = obj(payload.get("event"))
    reason = _STATUS_EVENTS.get(str(event.get("type")))
    team_id, app_id = text(payload.get("team_id")), text(payload.get("api_app_id"))
    if payload.get("type") != "event_callback" or not reason or not team_id or not app_id:
        return ()
    tokens = obj(event.get("tokens"))
    if reason == "tokens_revoked" and not tokens.get("bot"):
        return ()
    match = {"team_id": team_id, "app_id": app_id}
    return (StatusEvent(IntegrationStatus.NEEDS_RECONNECT, reason, match),)
