"""Telegram sandbox, Bot API side: `/bot<token>/<method>` (PROVIDERS.md §5.2-5.7).

Bots are created by the BotFather stand-in in `telegram`. A bot is stored under its public id with the
digest of its token; the chats it belongs to and its webhook live in their own Redis records.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from sandbox.store import JsonDict, SandboxStore, digest
from sandbox.web import FORM_TYPE, JSON_TYPE, Rejected, guarded, json_response, media_type

TOKEN_RE = re.compile(r"([0-9]{1,20}):([A-Za-z0-9_-]+)")
SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]*")
MAX_SECRET_TOKEN = 256
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
DEFAULT_MAX_CONNECTIONS = 40
MAX_CONNECTIONS = 100
# An empty `allowed_updates` means every update type except these (PROVIDERS.md §5.4).
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
HTTPS_REQUIRED = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
BAD_PORT = "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
NO_HOST = "Bad Request: bad webhook: Failed to resolve host: Name or service not known"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)


def tg_error(code: int, description: str, **parameters: int) -> Response:
    """Telegram's failure body; the HTTP status mirrors `error_code` (PROVIDERS.md §5.2)."""
    body: JsonDict = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return json_response(body, code)


def tg_ok(result: Any, description: str | None = None) -> Response:
    """Telegram's success body."""
    body: JsonDict = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return json_response(body)


Sender = Callable[[JsonDict, JsonDict, JsonDict], Awaitable[Response]]
NOT_FOUND = (404, "Not Found")
UNAUTHORIZED = (401, "Unauthorized")


def bot_user(bot: JsonDict) -> JsonDict:
    """The bot as a `User` inside updates and messages."""
    return {"id": bot["id"], "is_bot": True, "first_name": bot["first_name"], "username": bot["username"]}


async def find_bot(store: SandboxStore, token: str) -> JsonDict | None:
    """The bot a well-formed token belongs to, compared in constant time; None otherwise."""
    match = TOKEN_RE.fullmatch(token)
    bot = await store.get("bot", match.group(1)) if match else None
    if bot is None or not hmac.compare_digest(bot["token_digest"], digest(token)):
        return None
    return bot


class TelegramBotApi:
    """The Bot API methods the console uses, dispatched like api.telegram.org does."""

    def __init__(self, store: SandboxStore, console_origin: str, sender: Sender) -> None:
        self.store = store
        self.sender = sender  # sendMessage once the chat is known (`telegram_messages`)
        self.console_origin = console_origin  # webhooks there may use plain http and any port
        self.methods = {
            "getme": self.get_me,
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "getupdates": self.get_updates,
            "sendmessage": self.send_message,
            "getchat": self.get_chat,
        }

    @guarded
    async def call(self, request: Request, path: str) -> Response:
        """GET|POST /bot<token>/<method>: 404 for a malformed token or method, 401 for a wrong token."""
        token, _, method = path.partition("/")
        if not TOKEN_RE.fullmatch(token) or not method or "/" in method:
            raise Rejected(tg_error(*NOT_FOUND))
        bot = await find_bot(self.store, token)
        if bot is None:
            raise Rejected(tg_error(*UNAUTHORIZED))
        handler = self.methods.get(method.lower())  # method names are case-insensitive
        if handler is None:
            raise Rejected(tg_error(*NOT_FOUND))
        return await handler(bot, await read_params(request))

    async def get_me(self, bot: JsonDict, params: JsonDict) -> Response:
        return tg_ok(
            bot_user(bot)
            | {
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )

    async def set_webhook(self, bot: JsonDict, params: JsonDict) -> Response:
        url = as_text(params.get("url"))
        if not url:
            return await self._remove_webhook(bot, params)
        self._check_url(url)
        secret = as_text(params.get("secret_token"))
        if len(secret) > MAX_SECRET_TOKEN:
            raise Rejected(tg_error(400, "Bad Request: secret token is too long"))
        if not SECRET_TOKEN_RE.fullmatch(secret):
            raise Rejected(tg_error(400, "Bad Request: secret token contains unallowed characters"))
        old = await self.store.get("webhook", str(bot["id"])) or {}
        allowed = parse_allowed_updates(params.get("allowed_updates"), old.get("allowed_updates"))
        hook: JsonDict = {"url": url, "secret_token": secret, "allowed_updates": allowed}
        connections = as_int(params.get("max_connections")) or DEFAULT_MAX_CONNECTIONS
        hook["max_connections"] = min(max(connections, 1), MAX_CONNECTIONS)
        if {k: old.get(k) for k in hook} == hook:
            return tg_ok(True, "Webhook is already set")
        await self.store.put("webhook", str(bot["id"]), hook)
        return tg_ok(True, "Webhook was set")

    async def delete_webhook(self, bot: JsonDict, params: JsonDict) -> Response:
        return await self._remove_webhook(bot, params)

    async def _remove_webhook(self, bot: JsonDict, params: JsonDict) -> Response:
        if await self.store.delete("webhook", str(bot["id"])):
            return tg_ok(True, "Webhook was deleted")
        return tg_ok(True, "Webhook is already deleted")

    async def get_webhook_info(self, bot: JsonDict, params: JsonDict) -> Response:
        hook = await self.store.get("webhook", str(bot["id"]))
        info: JsonDict = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        if hook is None:
            return tg_ok(info)
        info |= {"url": hook["url"], "max_connections": hook["max_connections"]}
        if hook.get("allowed_updates") is not None:
            info["allowed_updates"] = hook["allowed_updates"]
        if hook.get("last_error_date"):
            info |= {k: hook[k] for k in ("last_error_date", "last_error_message")}
        return tg_ok(info)

    async def get_updates(self, bot: JsonDict, params: JsonDict) -> Response:
        if await self.store.get("webhook", str(bot["id"])) is not None:
            raise Rejected(tg_error(409, WEBHOOK_CONFLICT))
        return tg_ok([])  # the sandbox does not queue updates for polling

    async def send_message(self, bot: JsonDict, params: JsonDict) -> Response:
        chat = await self._chat(bot, params.get("chat_id"))
        return await self.sender(bot, chat, params)

    async def get_chat(self, bot: JsonDict, params: JsonDict) -> Response:
        chat = await self._chat(bot, params.get("chat_id"))
        return tg_ok(chat | {"accent_color_id": 0, "max_reaction_count": 11})

    async def _chat(self, bot: JsonDict, raw: Any) -> JsonDict:
        """The chat a `chat_id` names, if the bot may write there; Telegram's error otherwise."""
        chat_id = as_text(raw).strip()
        if not chat_id:
            raise Rejected(tg_error(400, "Bad Request: chat_id is empty"))
        if chat_id.startswith("@"):
            alias = await self.store.get("username", f"{bot['id']}:{chat_id[1:].lower()}")
            chat_id = str(alias["chat_id"]) if alias else ""
        member = await self.store.get("member", f"{bot['id']}:{chat_id}")
        if member is None:
            raise Rejected(tg_error(400, "Bad Request: chat not found"))
        chat, status = member["chat"], member["status"]
        if member.get("migrate_to_chat_id"):
            upgraded = "Bad Request: group chat was upgraded to a supergroup chat"
            raise Rejected(tg_error(400, upgraded, migrate_to_chat_id=member["migrate_to_chat_id"]))
        if status == "kicked":
            raise Rejected(tg_error(403, f"Forbidden: bot was kicked from the {chat['type']} chat"))
        if status == "left":
            raise Rejected(tg_error(403, f"Forbidden: bot is not a member of the {chat['type']} chat"))
        if chat["type"] == "channel" and status != "administrator":
            raise Rejected(tg_error(400, "Bad Request: need administrator rights in the channel chat"))
        return dict(chat)

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if self.console_origin and f"{parts.scheme}://{parts.netloc}".lower() == self.console_origin:
            return  # the sandbox runs on plain http: the console's own origin is the one exception
        if parts.scheme != "https":
            raise Rejected(tg_error(400, HTTPS_REQUIRED))
        if not parts.hostname:
            raise Rejected(tg_error(400, NO_HOST))
        try:
            port = parts.port or 443
        except ValueError:  # not a number, or out of range
            port = 0
        if port not in WEBHOOK_PORTS:
            raise Rejected(tg_error(400, BAD_PORT))


def receives(hook: JsonDict, update_type: str) -> bool:
    """Whether a webhook's `allowed_updates` lets this update type through."""
    allowed = hook.get("allowed_updates")
    return update_type in allowed if allowed else update_type not in OPT_IN_UPDATES


async def read_params(request: Request) -> JsonDict:
    """Query parameters, overlaid by a form, multipart or JSON body, as the Bot API accepts them."""
    params: JsonDict = dict(request.query_params)
    kind = media_type(request)
    if kind in (FORM_TYPE, "multipart/form-data"):
        form = await request.form()
        params |= {key: value for key, value in form.items() if isinstance(value, str)}
    elif kind == JSON_TYPE:
        try:
            body = await request.json()
        except ValueError:
            body = None  # an unparsable body carries no parameters
        if isinstance(body, dict):
            params |= body
    return params


def as_text(value: Any) -> str:
    """A parameter as text; numbers count, since form and JSON callers send ids either way."""
    if isinstance(value, bool) or value is None:
        return ""
    return str(value) if isinstance(value, str | int) else ""


def as_int(value: Any) -> int | None:
    """An integer parameter, or None when it is missing or not a number."""
    text = as_text(value).strip()
    return int(text) if re.fullmatch(r"-?[0-9]{1,20}", text) else None


def parse_allowed_updates(raw: Any, previous: list[str] | None) -> list[str] | None:
    """`allowed_updates` from a JSON array (JSON body) or a JSON-serialized array (query/form).

    Omitted keeps the previous list (PROVIDERS.md §5.4); `[]` means the default set.
    """
    if raw is None:
        return previous
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Rejected(tg_error(400, "Bad Request: can't parse allowed updates"))  # text unverified
    return value
