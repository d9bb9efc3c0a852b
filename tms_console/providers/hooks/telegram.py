"""Telegram: no OAuth for bots (PROVIDERS.md §5). The agent pastes a BotFather token; we check it with
getMe, register our inbound URL with a random secret token, and learn chats from `my_chat_member`
(the bot removed from the chosen chat means the integration needs reconnecting).

The token is part of every Bot API URL (`/bot<token>/<method>`), which is why URLs never reach logs.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any

from tms_console.domain.errors import ProviderError, ServiceError
from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks, ProviderHttp
from tms_console.domain.inbound import InboundRefused, Reply, StatusEvent, Verified
from tms_console.domain.messages import Outcome, RenderedMessage, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.domain.values import ConnectContext, Installation, Meta, Secrets, Target
from tms_console.providers.hooks._inbound import json_object, require_fresh, text
from tms_console.providers.hooks._send import Answer, attempt, delivered, missing_target, result
from tms_console.providers.render.telegram import notice as render_telegram_notice
from tms_console.providers.render.telegram import render as render_telegram

TOKEN_SHAPE = re.compile(r"^[0-9]{3,20}:[A-Za-z0-9_-]{30,80}$")
SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 (a header name)
JOINED = {"member", "administrator", "creator", "restricted"}
REMOVED = {"left", "kicked"}
DATED = ("my_chat_member", "message", "channel_post")  # updates that say when they were sent
MAX_CHATS = 100
CHAT_ID = re.compile(r"^-?[0-9]{1,20}$")


async def _bot(api: ProviderHttp, token: str, method: str, payload: dict[str, Any] | None = None) -> Any:
    status, body = await api.call_raw("POST", f"/bot{token}/{method}", json=payload or {})
    if isinstance(body, dict) and body.get("ok") is True:
        return body.get("result")
    code = body.get("error_code") if isinstance(body, dict) else status
    if code in (401, 404):  # 404: Telegram's answer to a token it cannot even parse
        raise ServiceError(Reason.INVALID_INPUT, "Telegram does not know this bot token")
    if code == 429:
        raise ProviderError(Reason.RATE_LIMITED, f"{method}: rate limited")
    raise ProviderError(Reason.PROVIDER_ERROR, f"{method} answered {code}")


def judge_send(answer: Answer, *, first: bool, token: str) -> SendResult:
    """A sendMessage answer. 401/404: the token was revoked; 403: the bot was kicked or blocked;
    400 "chat not found": the chat is gone; other 400s are final."""
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status < 300 and body.get("ok") is True:
        sent = body.get("result")
        message_id = sent.get("message_id") if isinstance(sent, dict) else None
        return delivered(answer, str(message_id or "") if first else "")
    described = str(body.get("description") or "").lower()
    if answer.status in (401, 404):
        return result(Outcome.AUTH_FAILED, answer, "invalid_token", secrets=(token,))
    if answer.status == 403:
        return result(Outcome.AUTH_FAILED, answer, "bot_removed", secrets=(token,))
    if "chat not found" in described:
        return result(Outcome.AUTH_FAILED, answer, "chat_not_found", secrets=(token,))
    if answer.status < 300:
        return result(Outcome.RETRY, answer, Reason.BAD_RESPONSE.value, secrets=(token,))
    return result(Outcome.REJECTED, answer, f"http_{answer.status}", secrets=(token,))


class TelegramHooks(ProviderHooks):
    revokes = True
    receives_inbound = True
    renders_events = True
    sends_notices = True
    # Unknown or unauthenticated calls all get the same 404, so install URLs cannot be probed.
    refusal = Reply(404, '{"detail": "not found"}')
    probes = True

    def render_event(self, event: TicketEvent, meta: Meta, *, template: str = "") -> RenderedMessage:
        return render_telegram(event)

    def render_notice(self, text: str) -> RenderedMessage:
        return render_telegram_notice(text)

    async def send_message(
        self,
        api: ProviderHttp,
        bundle: Secrets,
        meta: Meta,
        message: RenderedMessage,
        *,
        thread_handle: str = "",
    ) -> SendResult:
        """`sendMessage` to the chosen chat; later events reply to the ticket's first message (and are
        still sent if that message was deleted)."""
        chat_id, token = str(meta.get("target_id") or ""), str(bundle.get("bot_token") or "")
        if not CHAT_ID.match(chat_id) or not token:
            return missing_target("chat")
        payload = dict(message.payload) | {"chat_id": int(chat_id)}
        if thread_handle.isdigit():
            reply = {"message_id": int(thread_handle), "allow_sending_without_reply": True}
            payload["reply_parameters"] = reply
        answer = await attempt(api, "POST", f"/bot{token}/sendMessage", json=payload, secrets=(token,))
        if isinstance(answer, SendResult):
            return answer
        return judge_send(answer, first=not thread_handle, token=token)

    async def probe(self, api: ProviderHttp, bundle: Secrets, meta: Meta) -> SendResult | None:
        """`getMe` (the token still works), then `getChat` on the chosen chat (the bot is still in it),
        judged as sends are: `invalid_token`, `bot_removed`, `chat_not_found`."""
        token = str(bundle.get("bot_token") or "")
        checks: list[tuple[str, dict[str, Any]]] = [("getMe", {})]
        chat_id = str(meta.get("target_id") or "")
        if CHAT_ID.match(chat_id):
            checks.append(("getChat", {"chat_id": int(chat_id)}))
        judged: SendResult | None = None
        for method, payload in checks:
            answer = await attempt(api, "POST", f"/bot{token}/{method}", json=payload, secrets=(token,))
            judged = (
                answer if isinstance(answer, SendResult) else judge_send(answer, first=False, token=token)
            )
            if judged.outcome is not Outcome.DELIVERED:
                break
        return judged

    async def connect(self, api: ProviderHttp, fields: dict[str, Any], ctx: ConnectContext) -> Installation:
        token = str(fields.get("bot_token", ""))
        if not TOKEN_SHAPE.match(token):
            raise ServiceError(
                Reason.INVALID_INPUT, "a bot token looks like 123456789:AA... (from @BotFather)"
            )
        me = await _bot(api, token, "getMe")
        if not isinstance(me, dict) or not me.get("is_bot"):
            raise ProviderError(Reason.BAD_RESPONSE, "getMe did not describe a bot")
        secret_token = secrets.token_urlsafe(32)  # [A-Za-z0-9_-], as setWebhook requires
        await _bot(
            api,
            token,
            "setWebhook",
            {
                "url": ctx.inbound_url,
                "secret_token": secret_token,
                "allowed_updates": ["my_chat_member", "message", "channel_post"],
                "drop_pending_updates": True,
            },
        )
        username = str(me.get("username") or "")
        return Installation(
            meta={
                "bot_id": str(me.get("id") or ""),
                "account_name": f"@{username}" if username else "",
                "chats": [],
            },
            secrets={"bot_token": token, "secret_token": secret_token},
        )

    async def revoke(self, api: ProviderHttp, bundle: Secrets) -> None:
        """Stop updates coming to us; the bot itself belongs to the customer (nothing else to revoke)."""
        await _bot(api, str(bundle.get("bot_token", "")), "deleteWebhook", {"drop_pending_updates": True})

    async def list_targets(self, api: ProviderHttp, bundle: Secrets, meta: Meta) -> list[Target]:
        return [
            Target(id=str(chat["id"]), name=str(chat.get("title") or chat["id"]))
            for chat in meta.get("chats") or []
            if isinstance(chat, dict) and chat.get("id")
        ]

    def read_inbound(self, headers: Mapping[str, str], body: bytes, bundle: Secrets, now: float) -> Verified:
        """Telegram signs nothing; it echoes the secret token we registered (compared in constant time).
        Updates are told apart by `update_id`; a dated one older than 5 minutes is refused."""
        expected = str(bundle.get("secret_token") or "")
        given = headers.get(SECRET_HEADER, "")
        if not given:
            raise InboundRefused("missing_signature")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise InboundRefused("bad_signature")
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise InboundRefused("malformed")
        update = json_object(body)
        update_id = text(update.get("update_id"))
        if not update_id.lstrip("-").isdigit():
            raise InboundRefused("malformed")
        dated = next((update[k] for k in DATED if isinstance(update.get(k), dict)), None)
        if dated is not None:
            require_fresh(dated.get("date"), now)
        return Verified(update_id, Reply(200, '{"ok": true}'), _bot_removed(update))

    def on_inbound(self, update: object, meta: Meta) -> Meta | None:
        """Track the chats the bot is in (added, promoted, removed); other updates change nothing."""
        change = update.get("my_chat_member") if isinstance(update, dict) else None
        if not isinstance(change, dict) or not isinstance(change.get("chat"), dict):
            return None
        chat = change["chat"]
        status = _new_status(change)
        chat_id = str(chat.get("id", ""))
        if not chat_id:
            return None
        chats = [c for c in meta.get("chats") or [] if isinstance(c, dict) and c.get("id") != chat_id]
        if status in JOINED:
            title = chat.get("title") or chat.get("username") or chat_id
            chats.append({"id": chat_id, "title": str(title), "type": str(chat.get("type", ""))})
        meta = meta | {"chats": chats[-MAX_CHATS:]}
        if meta.get("target_id") == chat_id and status not in JOINED:
            meta = {k: v for k, v in meta.items() if k not in ("target_id", "target_name")}
        return meta


def _bot_removed(update: dict[str, Any]) -> tuple[StatusEvent, ...]:
    """The bot left or was kicked from a chat: an install whose target is that chat needs reconnecting."""
    change = update.get("my_chat_member")
    if not isinstance(change, dict) or not isinstance(change.get("chat"), dict):
        return ()
    status = _new_status(change)
    chat_id = text(change["chat"].get("id"))
    if status not in REMOVED or not chat_id:
        return ()
    return (StatusEvent(IntegrationStatus.NEEDS_RECONNECT, "bot_removed", {"target_id": chat_id}),)


def _new_status(change: dict[str, Any]) -> str:
    member = change.get("new_chat_member")
    return str(member.get("status", "")) if isinstance(member, dict) else ""
