"""Telegram sandbox: a BotFather stand-in, controls that add a bot to chats, the webhook sender
(PROVIDERS.md §5). The Bot API lives in `telegram_api`; `build_router` wires both.

Telegram has no OAuth: an agent pastes the token BotFather shows. This BotFather mints tokens in the
real format `<bot id>:<35 chars of [A-Za-z0-9_-]>` whose secret part starts with `token_marker(canary)`.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from html import escape
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox import faults
from sandbox.pages import error_page, html_page
from sandbox.store import JsonDict, SandboxStore, digest
from sandbox.telegram_api import TelegramBotApi, bot_user, find_bot, receives
from sandbox.telegram_messages import MessageSender
from sandbox.web import JSON_TYPE, Rejected, guarded, json_response, media_type, read_form

if TYPE_CHECKING:
    from sandbox import SandboxApp

PREFIX = "/sandbox/telegram"
TOKEN_ALPHABET = string.ascii_letters + string.digits + "_-"
SECRET_LENGTH = 35
MIN_RANDOM = 16  # random characters left after the canary: ~96 bits, unguessable
BOT_ID_BASE = 7_100_000_000
UPDATE_ID_BASE = 100_000_000
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DELIVERY_TIMEOUT = httpx.Timeout(10.0)
# The person who adds the bot in every simulated update.
ADDER = {"id": 42, "is_bot": False, "first_name": "Ada", "username": "ada_support", "language_code": "en"}
ADMIN_RIGHTS = {
    "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
    "can_delete_messages": True, "can_manage_video_chats": True, "can_restrict_members": True,
    "can_promote_members": False, "can_change_info": True, "can_invite_users": True,
    "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False,
}  # fmt: skip
ChatType = Literal["group", "supergroup", "channel"]
Status = Literal["member", "administrator", "left", "kicked"]


@dataclass(frozen=True)
class TelegramChat:
    """A chat the demo page offers to add the bot to."""

    id: int
    title: str
    type: ChatType
    username: str | None = None


TELEGRAM_CHATS: tuple[TelegramChat, ...] = (
    TelegramChat(-1001900000001, "Acme Support HQ", "supergroup", "acme_support"),
    TelegramChat(-1001900000002, "Acme Ticket Alerts", "channel", "acme_alerts"),
    TelegramChat(-4000000001, "Night Shift", "group"),
)


class ChatIn(BaseModel):
    """The `chat` of an `_add_to_chat` call, as Telegram's `Chat` object."""

    model_config = ConfigDict(extra="forbid")
    id: int = Field(lt=0)  # group, supergroup and channel ids are negative
    title: str = Field(min_length=1, max_length=128)
    type: ChatType
    username: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


class MembershipChange(BaseModel):
    """Body of `POST /sandbox/telegram/_add_to_chat` (tests and demos only)."""

    model_config = ConfigDict(extra="forbid")
    bot_token: str | None = Field(default=None, max_length=100)
    bot_id: int | None = None
    chat: ChatIn
    status: Status | None = None  # default: administrator in channels, member elsewhere
    migrate_to_chat_id: int | None = Field(default=None, lt=0)  # upgrade this group to that supergroup


def token_marker(canary: str) -> str:
    """What of the canary a bot token carries, so leak tests know what to grep for.

    The canary itself when it fits the token alphabet, else its unpadded base64url encoding (the
    token format has no room for other characters); cut to what the token has room for, so a
    long canary still starts every token with the same, greppable prefix.
    """
    marker = canary
    if not re.fullmatch(r"[A-Za-z0-9_-]+", canary):
        marker = base64.urlsafe_b64encode(canary.encode()).decode().rstrip("=")
    return marker[: SECRET_LENGTH - MIN_RANDOM]


class TelegramSandbox:
    """BotFather, the chat controls and the webhook sender."""

    def __init__(self, store: SandboxStore, canary: str) -> None:
        self.store = store
        self.marker = token_marker(canary)

    async def botfather_page(self) -> Response:
        """GET /botfather: a form whose button (`newbot`) creates a test bot."""
        body = (
            "<h1>BotFather (sandbox)</h1><p>Create a test bot, then paste its token into the console.</p>"
            f'<form method="post" action="{PREFIX}/botfather"><label for="name">Bot name</label>'
            '<input id="name" name="name" value="TMS Notifier" maxlength="64" required>'
            '<div class="actions"><button type="submit" id="newbot">Create a new bot</button></div>'
            '</form><p class="note">Sandbox provider: nothing leaves this machine.</p>'
        )
        return html_page("BotFather (sandbox)", body)

    @guarded
    async def create_bot(self, request: Request) -> Response:
        """POST /botfather: mint a bot; the token is shown once (`bot-token`), only its digest kept."""
        form = await read_form(request)
        name = (form or {}).get("name", "").strip()
        if not 1 <= len(name) <= 64:
            raise Rejected(error_page("Invalid bot name", "Choose a name of 1 to 64 characters."))
        bot_id = BOT_ID_BASE + await self.store.incr("bot_serial")
        random_part = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(SECRET_LENGTH - len(self.marker)))
        token = f"{bot_id}:{self.marker}{random_part}"
        bot: JsonDict = {"id": bot_id, "first_name": name, "username": f"tms_sbx_{bot_id}_bot"}
        await self.store.put("bot", str(bot_id), bot | {"token_digest": digest(token)})
        body = (
            f"<h1>Done! Congratulations on your new bot {escape(name)}.</h1>"
            f"<p>You will find it at t.me/{escape(bot['username'])}. "
            "Use this token to access the HTTP API:</p>"
            f'<p><code id="bot-token">{escape(token)}</code></p>'
            "<p>Keep your token secure and store it safely.</p>"
            f'<p><a id="add-to-chat" href="{PREFIX}/chats?bot_id={bot_id}">Add the bot to a chat</a></p>'
        )
        return html_page("BotFather (sandbox)", body)

    async def chats_page(self, request: Request) -> Response:
        """GET /chats: fixture chats, two buttons each, that add the bot (given by its id) or kick it."""
        bot_id = request.query_params.get("bot_id", "")
        buttons = "".join(
            f'<button type="submit" id="add-{abs(c.id)}" name="chat_id" value="{c.id}">'
            f"Add to {escape(c.title)} ({c.type})</button>"
            f'<button type="submit" id="kick-{abs(c.id)}" name="kick_chat_id" value="{c.id}">'
            f"Kick bot from {escape(c.title)}</button>"
            for c in TELEGRAM_CHATS
        )
        body = (
            "<h1>Telegram (sandbox) — add your bot to a chat</h1>"
            f'<form method="post" action="{PREFIX}/chats"><label for="bot_id">Bot id '
            '(the digits before ":" in the token)</label>'
            f'<input id="bot_id" name="bot_id" value="{escape(bot_id if bot_id.isdigit() else "")}" required>'
            f'<div class="actions" style="flex-direction:column">{buttons}</div></form>'
        )
        return html_page("Telegram (sandbox) — chats", body)

    @guarded
    async def add_from_page(self, request: Request) -> Response:
        """POST /chats: the demo page's buttons; the bot joins (or is kicked) and its webhook gets the
        update. A kicked bot's sendMessage to that chat answers 403 from then on."""
        form = await read_form(request) or {}
        kick = "kick_chat_id" in form
        chosen = form.get("kick_chat_id") if kick else form.get("chat_id")
        chat = next((c for c in TELEGRAM_CHATS if str(c.id) == chosen), None)
        bot_id = form.get("bot_id", "")
        bot = await self.store.get("bot", bot_id) if bot_id.isdigit() else None
        if chat is None or bot is None:
            raise Rejected(error_page("Unknown bot or chat", "Create a bot with BotFather and pick a chat."))
        status: Status | None = "kicked" if kick else None
        change = MembershipChange(bot_id=bot["id"], chat=ChatIn.model_validate(asdict(chat)), status=status)
        result = await self._change(bot, change)
        outcome = _outcome(result)
        done = "was kicked from" if kick else "joined"
        body = f"<h1>{escape(bot['first_name'])} {done} {escape(chat.title)}</h1>"
        body += f"<p id='outcome'>{escape(outcome)}</p>"
        return html_page("Telegram (sandbox) — chats", body)

    @guarded
    async def add_to_chat(self, request: Request) -> Response:
        """POST /_add_to_chat (JSON): change the bot's membership and push the update to its webhook."""
        if media_type(request) != JSON_TYPE:
            raise Rejected(json_response({"detail": "send application/json"}, 415))
        try:
            change = MembershipChange.model_validate_json(await request.body())
        except ValidationError as exc:
            detail = exc.errors(include_url=False, include_input=False)
            raise Rejected(json_response({"detail": detail}, 422)) from None
        bot = await self._bot(change)
        if change.migrate_to_chat_id is not None and change.chat.type != "group":
            raise Rejected(json_response({"detail": "only a group can be upgraded"}, 422))
        return json_response(await self._change(bot, change))

    async def _bot(self, change: MembershipChange) -> JsonDict:
        if (change.bot_token is None) == (change.bot_id is None):
            raise Rejected(json_response({"detail": "give exactly one of bot_token, bot_id"}, 422))
        if change.bot_token is not None:
            bot = await find_bot(self.store, change.bot_token)
        else:
            bot = await self.store.get("bot", str(change.bot_id))
        if bot is None:
            raise Rejected(json_response({"detail": "unknown bot"}, 404))
        return bot

    async def _change(self, bot: JsonDict, change: MembershipChange) -> JsonDict:
        chat = change.chat.model_dump(exclude_none=True)
        key = f"{bot['id']}:{chat['id']}"
        old = await self.store.get("member", key)
        status = change.status or ("administrator" if chat["type"] == "channel" else "member")
        if change.migrate_to_chat_id is not None:
            return await self._migrate(bot, chat, change.migrate_to_chat_id, status)
        await self.store.put("member", key, {"chat": chat, "status": status})
        if "username" in chat:
            await self.store.put(
                "username", f"{bot['id']}:{chat['username'].lower()}", {"chat_id": chat["id"]}
            )
        old_member = _member(bot, old["status"] if old else "left")
        event = {"chat": chat, "from": ADDER, "date": int(time.time())}
        event |= {"old_chat_member": old_member, "new_chat_member": _member(bot, status)}
        return await self._deliver(bot, "my_chat_member", event)

    async def _migrate(self, bot: JsonDict, chat: JsonDict, new_id: int, status: str) -> JsonDict:
        """The group becomes a supergroup: the old id answers `migrate_to_chat_id` from now on."""
        supergroup = chat | {"id": new_id, "type": "supergroup"}
        await self.store.put("member", f"{bot['id']}:{new_id}", {"chat": supergroup, "status": status})
        old = {"chat": chat, "status": status, "migrate_to_chat_id": new_id}
        await self.store.put("member", f"{bot['id']}:{chat['id']}", old)
        message_id = await self.store.incr(f"message_serial:{bot['id']}")
        message = {"message_id": message_id, "from": ADDER, "chat": chat, "date": int(time.time())}
        return await self._deliver(bot, "message", message | {"migrate_to_chat_id": new_id})

    async def _deliver(self, bot: JsonDict, update_type: str, event: JsonDict) -> JsonDict:
        """POST the update to the bot's webhook once; record a failure where getWebhookInfo shows it."""
        update_id = UPDATE_ID_BASE + await self.store.incr(f"update_serial:{bot['id']}")
        update = {"update_id": update_id, update_type: event}
        result: JsonDict = {"update": update, "delivered": False, "status_code": None, "error": None}
        hook = await self.store.get("webhook", str(bot["id"]))
        if hook is None:
            return result | {"reason": "no_webhook"}
        if not receives(hook, update_type):
            return result | {"reason": "not_allowed"}
        status_code, error = await _post_update(hook, update)
        if error is not None:
            hook |= {"last_error_date": int(time.time()), "last_error_message": error}
            await self.store.put("webhook", str(bot["id"]), hook)
            return result | {"reason": "failed", "status_code": status_code, "error": error}
        return result | {"delivered": True, "status_code": status_code, "reason": None}


async def _post_update(hook: JsonDict, update: JsonDict) -> tuple[int | None, str | None]:
    """One delivery attempt; an error text like getWebhookInfo's `last_error_message` on failure."""
    headers = {"Content-Type": JSON_TYPE}
    if hook.get("secret_token"):
        headers[SECRET_HEADER] = hook["secret_token"]
    async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT, follow_redirects=False) as client:
        try:
            response = await client.post(hook["url"], content=json.dumps(update), headers=headers)
        except httpx.TimeoutException:
            return None, "Read timeout expired"
        except httpx.HTTPError:
            return None, "Connection refused"
    if response.is_success:
        return response.status_code, None
    return (
        response.status_code,
        f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}",
    )


def _member(bot: JsonDict, status: str) -> JsonDict:
    """A `ChatMember` of the bot with the given status."""
    member: JsonDict = {"user": bot_user(bot), "status": status}
    if status == "administrator":
        member |= ADMIN_RIGHTS
    if status == "kicked":
        member["until_date"] = 0
    return member


def _outcome(result: JsonDict) -> str:
    if result["delivered"]:
        return f"The update was delivered to the bot's webhook (HTTP {result['status_code']})."
    if result["reason"] == "no_webhook":
        return "No webhook is registered, so the update was not delivered."
    if result["reason"] == "not_allowed":
        return "The webhook's allowed_updates exclude this update, so it was not delivered."
    return f"The webhook did not accept the update: {result['error']}"


def console_origin(redirect_uri: str) -> str:
    """The console's origin, taken from the redirect URI it registered (built from PUBLIC_BASE_URL)."""
    parts = urlsplit(redirect_uri)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def build_router(app: SandboxApp, store: SandboxStore, canary: str) -> APIRouter:
    """All Telegram sandbox routes under `/sandbox/telegram`."""
    sandbox = TelegramSandbox(store, canary)
    api = TelegramBotApi(store, console_origin(app.redirect_uri), MessageSender(store).send)
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    router.add_api_route("/botfather", sandbox.botfather_page, methods=["GET"])
    router.add_api_route("/botfather", sandbox.create_bot, methods=["POST"])
    router.add_api_route("/chats", sandbox.chats_page, methods=["GET"])
    router.add_api_route("/chats", sandbox.add_from_page, methods=["POST"])
    router.add_api_route("/_add_to_chat", sandbox.add_to_chat, methods=["POST"])
    # Last, so that /botfather is matched first; `path` is "<token>/<method>".
    router.add_api_route("/bot{path:path}", _with_faults(store, api), methods=["GET", "POST"])
    return router


def _with_faults(store: SandboxStore, api: TelegramBotApi) -> Callable[[Request, str], Awaitable[Response]]:
    """One route for every method; sendMessage gets the message faults, the rest the API faults."""
    send = faults.with_message_faults(store, "telegram", api.call)
    other = faults.with_faults(store, "telegram", "api", api.call)

    async def call(request: Request, path: str) -> Response:
        is_send = path.partition("/")[2].lower() == "sendmessage"
        return await (send if is_send else other)(request=request, path=path)

    return call
