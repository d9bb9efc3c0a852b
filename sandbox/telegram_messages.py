"""Telegram `sendMessage` (PROVIDERS.md §5.6): text, `parse_mode=HTML`, replies, and what the chat shows.

HTML parse failures answer `400 Bad Request: can't parse entities: …` (see `telegram_html`). A reply names
its target with `reply_parameters` (`{"message_id", "allow_sending_without_reply"}`) or the older
`reply_to_message_id`; a target that is not in the chat is `Bad Request: message to be replied not found`
unless sending without the reply is allowed.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.responses import Response

from sandbox import telegram_html
from sandbox.inbox import Inbox, Message, TextFormat
from sandbox.store import JsonDict, SandboxStore
from sandbox.telegram_api import as_int, as_text, bot_user, tg_error, tg_ok
from sandbox.web import Rejected

MAX_TEXT = 4096  # counted in UTF-16 units, as Telegram counts entity offsets (the stricter reading)
PARSE_MODES = frozenset({"HTML", "MarkdownV2", "Markdown"})
REPLY_NOT_FOUND = "Bad Request: message to be replied not found"


class MessageSender:
    """sendMessage for a bot in a chat it may write to."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        self.inbox = Inbox(store)

    async def send(self, bot: JsonDict, chat: JsonDict, params: JsonDict) -> Response:
        """Validate, record and answer one sendMessage."""
        raw = as_text(params.get("text"))
        text, entities, notified = _parsed(raw, params.get("parse_mode"))
        if not text.strip():
            raise Rejected(tg_error(400, "Bad Request: message text is empty"))
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
            raise Rejected(tg_error(400, "Bad Request: message is too long"))
        replied = await self._replied(bot, chat, params)
        await self.store.record_delivery(params | {"chat_id": chat["id"]})
        message_id = await self.store.incr(f"message_serial:{bot['id']}")
        thread = (replied.get("thread") or str(replied["message_id"])) if replied else None
        key = f"{bot['id']}:{chat['id']}:{message_id}"
        await self.store.put(
            "message", key, {"message_id": message_id, "thread": thread, "date": int(time.time())}
        )
        form: TextFormat = "telegram_html" if params.get("parse_mode") == "HTML" else "plain"
        received = Message(
            str(message_id), raw, form, thread, f"@{bot['username']}", "bot api", mentions=notified
        )
        await self.inbox.receive(str(chat["id"]), str(chat.get("title") or chat["id"]), received)
        return tg_ok(_message(bot, chat, params, message_id, text) | _extras(entities, replied, chat))

    async def _replied(self, bot: JsonDict, chat: JsonDict, params: JsonDict) -> JsonDict | None:
        reply = _reply_parameters(params)
        if reply is None:
            return None
        target = await self.store.get("message", f"{bot['id']}:{chat['id']}:{reply['message_id']}")
        if target is None and not reply.get("allow_sending_without_reply"):
            raise Rejected(tg_error(400, REPLY_NOT_FOUND))
        return target


def _parsed(raw: str, parse_mode: Any) -> tuple[str, list[dict[str, object]], tuple[str, ...]]:
    """The text the chat shows, its markup entities, and who it notifies."""
    if parse_mode not in (None, "") and parse_mode not in PARSE_MODES:
        raise Rejected(tg_error(400, f"Bad Request: unsupported parse_mode {parse_mode}"))  # (text recalled)
    if parse_mode != "HTML":  # the sandbox checks HTML only, the mode the console uses
        return raw, [], telegram_html.mentions([telegram_html.Piece("text", raw)])
    try:
        pieces = telegram_html.parse(raw)
    except telegram_html.HtmlParseError as exc:
        raise Rejected(tg_error(400, f"Bad Request: can't parse entities: {exc}")) from None
    return telegram_html.plain_text(pieces), telegram_html.entities(pieces), telegram_html.mentions(pieces)


def _reply_parameters(params: JsonDict) -> JsonDict | None:
    raw = params.get("reply_parameters")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise Rejected(tg_error(400, "Bad Request: can't parse reply parameters JSON object")) from None
    if raw is not None:
        if not isinstance(raw, dict) or as_int(raw.get("message_id")) is None:
            raise Rejected(tg_error(400, "Bad Request: message to reply not specified"))  # (text recalled)
        return {
            "message_id": as_int(raw["message_id"]),
            "allow_sending_without_reply": bool(raw.get("allow_sending_without_reply")),
        }
    legacy = as_int(params.get("reply_to_message_id"))
    allow = as_text(params.get("allow_sending_without_reply")).lower() in ("true", "1")
    return {"message_id": legacy, "allow_sending_without_reply": allow} if legacy is not None else None


def _message(bot: JsonDict, chat: JsonDict, params: JsonDict, message_id: int, text: str) -> JsonDict:
    message: JsonDict = {"message_id": message_id, "date": int(time.time()), "chat": chat}
    if chat["type"] == "channel":
        message["sender_chat"] = chat
    else:
        message["from"] = bot_user(bot)
    if as_int(params.get("message_thread_id")):
        message["message_thread_id"] = as_int(params.get("message_thread_id"))
    return message | {"text": text}


def _extras(entities: list[dict[str, object]], replied: JsonDict | None, chat: JsonDict) -> JsonDict:
    extras: JsonDict = {"entities": entities} if entities else {}
    if replied is not None:
        extras["reply_to_message"] = {
            "message_id": replied["message_id"],
            "date": replied["date"],
            "chat": chat,
        }
    return extras
