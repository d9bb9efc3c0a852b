"""Google Chat sandbox, API side: spaces.list, spaces.get, spaces.messages.create with user OAuth,
and incoming webhooks (PROVIDERS.md §4.5, 4.6, 4.8).

Failures use Google's JSON error envelope `{"error": {"code", "message", "status", "details"}}` with
real HTTP statuses. Webhook URLs are minted by the sandbox-only `POST /_webhooks` (the stand-in for
"Apps & integrations → Webhooks → Add" in the Chat UI), since a real webhook URL is pasted, not issued.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox import faults, google_chat_cards
from sandbox import google_chat_fixtures as fx
from sandbox.google_chat_requests import (
    INVALID_AUTH,
    MISSING_AUTH,
    NOT_FOUND,
    google_error,
    invalid_argument,
    page_offset,
    page_size,
    page_token,
    params_of,
    space_types,
)
from sandbox.inbox import Inbox, Message
from sandbox.store import JsonDict, SandboxStore
from sandbox.web import (
    JSON_TYPE,
    Rejected,
    auth_token,
    base_url,
    guarded,
    json_response,
    media_type,
    read_json,
)

SCOPE = "https://www.googleapis.com/auth/"
READ_SPACES = frozenset({SCOPE + "chat.spaces.readonly", SCOPE + "chat.spaces"})
CREATE_MESSAGES = frozenset({SCOPE + "chat.messages.create", SCOPE + "chat.messages"})
# The key in every Chat webhook URL is the same public API key; the `token` is the secret (§4.6).
WEBHOOK_KEY = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"
MAX_TEXT_BYTES = 32000
REQUEST_ID_TTL = 86400
REPLY_OPTIONS = frozenset(
    {"MESSAGE_REPLY_OPTION_UNSPECIFIED", "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD", "REPLY_MESSAGE_OR_FAIL"}
)
MESSAGE_ID = re.compile(r"client-[a-z0-9-]{1,56}")
MESSAGE_FIELDS = frozenset(
    {
        "name", "sender", "createTime", "lastUpdateTime", "deleteTime", "text", "formattedText",
        "cards", "cardsV2", "annotations", "thread", "space", "fallbackText", "actionResponse",
        "argumentText", "slashCommand", "attachment", "matchedUrl", "threadReply",
        "clientAssignedMessageId", "emojiReactionSummaries", "privateMessageViewer",
        "deletionMetadata", "quotedMessageMetadata", "attachedGifs", "accessoryWidgets",
    }
)  # fmt: skip


def space_object(space: fx.ChatSpace) -> JsonDict:
    """A Space resource as the v1 API returns it (proto3 JSON: empty and false fields omitted)."""
    direct = space.space_type == fx.DIRECT_MESSAGE
    body: JsonDict = {"name": space.name, "type": "DM" if direct else "ROOM"}
    if space.display_name:
        body["displayName"] = space.display_name
    threaded = space.space_type == fx.SPACE
    body["spaceThreadingState"] = "THREADED_MESSAGES" if threaded else "UNTHREADED_MESSAGES"
    body["spaceType"] = space.space_type
    if space.description:
        body["spaceDetails"] = {"description": space.description}
    body["spaceHistoryState"] = "HISTORY_ON"
    body |= {"createTime": fx.CREATE_TIME, "lastActiveTime": fx.CREATE_TIME}
    body["membershipCount"] = {"joinedDirectHumanUserCount": len(space.members) + 4}
    kind = "dm" if direct else "space"
    return body | {"spaceUri": f"https://mail.google.com/chat/u/0/#chat/{kind}/{space.id}"}


class GoogleChatApi:
    """The Chat API of the sandbox, for the user tokens the OAuth side issues."""

    def __init__(self, store: SandboxStore, canary: str) -> None:
        self.store = store
        self.canary = canary

    def add_routes(self, router: APIRouter) -> None:
        """Register the Chat API routes and the sandbox-only webhook minting route."""
        list_spaces = faults.with_faults(self.store, "google_chat", "api", self.list_spaces)
        router.add_api_route("/chat/v1/spaces", list_spaces, methods=["GET"])
        get_space = faults.with_faults(self.store, "google_chat", "api", self.get_space)
        router.add_api_route("/chat/v1/spaces/{space_id}", get_space, methods=["GET"])
        create = faults.with_message_faults(self.store, "google_chat", self.create_message)
        router.add_api_route("/chat/v1/spaces/{space_id}/messages", create, methods=["POST"])
        router.add_api_route("/_webhooks", self.create_webhook, methods=["POST"])

    @guarded
    async def list_spaces(self, request: Request) -> Response:
        """GET /v1/spaces?pageSize=&pageToken=&filter=: the caller's spaces, paginated."""
        record = await self._authed(request, READ_SPACES)
        params = params_of(request, {"pageSize", "pageToken", "filter"})
        size = page_size(params.get("pageSize", ""))
        types = space_types(params.get("filter", ""))
        spaces = [s for s in fx.spaces_of(record["account"]) if s.space_type in types]
        scope = {"u": record["account"], "f": params.get("filter", "")}
        start = page_offset(params.get("pageToken", ""), scope)
        body: JsonDict = {}
        if spaces[start : start + size]:  # proto3 JSON omits an empty list: the body is then `{}`
            body["spaces"] = [space_object(s) for s in spaces[start : start + size]]
        if start + size < len(spaces):
            body["nextPageToken"] = page_token(scope | {"o": start + size})
        return json_response(body)

    @guarded
    async def get_space(self, request: Request, space_id: str) -> Response:
        """GET /v1/spaces/{space}: a space the caller is a member of."""
        record = await self._authed(request, READ_SPACES)
        params_of(request, set())
        return json_response(space_object(_member_space(space_id, record["account"])))

    @guarded
    async def create_message(self, request: Request, space_id: str) -> Response:
        """POST /v1/spaces/{space}/messages: user OAuth (Bearer), or a webhook (`key` + `token`)."""
        params = params_of(request, {"requestId", "messageReplyOption", "messageId", "threadKey", "token"})
        if auth_token(request, "Bearer") is None and ("key" in params or "token" in params):
            space, sender = await self._webhook(params, space_id), None
        else:
            record = await self._authed(request, CREATE_MESSAGES)
            space, sender = _member_space(space_id, record["account"]), record["account"]
        payload = await _message_payload(request, webhook=sender is None)
        replay_key = f"{space.id}:{sender}:{params['requestId']}" if params.get("requestId") else None
        replayed = await self.store.get("request", replay_key) if replay_key else None
        if replayed is not None:
            return json_response(replayed)  # same requestId: the same message, nothing new delivered
        message = await self._message(space, sender, payload, params)
        await self.store.record_delivery(
            payload | {"parent": space.name, "via": "api" if sender else "webhook"}
        )
        await self._receive(space, sender, payload, message)
        if replay_key:
            await self.store.put("request", replay_key, message, REQUEST_ID_TTL)
        return json_response(message)

    async def _receive(
        self, space: fx.ChatSpace, sender: str | None, payload: JsonDict, message: JsonDict
    ) -> None:
        text = str(payload.get("text") or "")
        cards = tuple(google_chat_cards.card(item) for item in payload.get("cardsV2") or [])
        author, via = (f"users/{sender}", "api") if sender else ("Webhook", "webhook")
        mentions = google_chat_cards.mentions(text)
        received = Message(
            message["name"], text, "google", message["thread"]["name"], author, via, cards, mentions
        )
        await Inbox(self.store).receive(space.id, space.display_name or space.name, received)

    async def _message(
        self, space: fx.ChatSpace, sender: str | None, payload: JsonDict, params: dict[str, str]
    ) -> JsonDict:
        client_id = params.get("messageId")
        if client_id is not None:
            if not MESSAGE_ID.fullmatch(client_id):
                raise invalid_argument("Invalid message ID. Custom IDs must start with `client-`.")
            if not await self._claim(f"message_ids:{space.id}", client_id):
                raise Rejected(
                    google_error(409, "ALREADY_EXISTS", "Message with the given ID already exists.")
                )
        serial = f"{await self.store.incr('message_serial'):011d}"
        thread = await self._thread(space, payload, params, serial)
        name = f"{space.name}/messages/{serial}.{thread.rsplit('/', 1)[-1]}"
        if sender is None:  # webhook responses add only `name` and `thread.name` (§4.6)
            return payload | {"name": name, "thread": dict(payload.get("thread") or {}) | {"name": thread}}
        text = payload.get("text", "")
        message: JsonDict = {"name": name, "sender": {"name": f"users/{sender}", "type": "HUMAN"}}
        message |= {"createTime": _now(), "text": text, "formattedText": text, "argumentText": text}
        message |= {"thread": {"name": thread}, "space": {"name": space.name}}
        if client_id is not None:
            message["clientAssignedMessageId"] = client_id
        return message

    async def _thread(
        self, space: fx.ChatSpace, payload: JsonDict, params: dict[str, str], serial: str
    ) -> str:
        option = params.get("messageReplyOption", "MESSAGE_REPLY_OPTION_UNSPECIFIED")
        if option not in REPLY_OPTIONS:
            raise invalid_argument(f"Invalid value at 'message_reply_option', \"{option}\"")
        thread = payload.get("thread") or {}
        if not isinstance(thread, dict):
            raise invalid_argument("Invalid JSON payload received. Invalid value at 'message.thread'.")
        key = thread.get("threadKey") or params.get("threadKey")
        if option == "MESSAGE_REPLY_OPTION_UNSPECIFIED" or not (key or thread.get("name")):
            return f"{space.name}/threads/{serial}"
        name = thread.get("name")
        if name is not None and not (isinstance(name, str) and name.startswith(f"{space.name}/threads/")):
            raise invalid_argument("Invalid thread name: it must belong to the message's space.")
        thread_id = name.rsplit("/", 1)[-1] if name else _thread_id(space, str(key))
        known = await self.store.has_flag(f"threads:{space.id}", thread_id)
        if not known and option == "REPLY_MESSAGE_OR_FAIL":
            raise Rejected(google_error(404, "NOT_FOUND", NOT_FOUND))
        await self.store.add_flag(f"threads:{space.id}", thread_id)
        return f"{space.name}/threads/{thread_id}"

    async def _claim(self, name: str, member: str) -> bool:
        if await self.store.has_flag(name, member):
            return False
        await self.store.add_flag(name, member)
        return True

    async def _authed(self, request: Request, scopes: frozenset[str]) -> JsonDict:
        token = auth_token(request, "Bearer")
        if token is None:
            raise Rejected(google_error(401, "UNAUTHENTICATED", MISSING_AUTH, "CREDENTIALS_MISSING"))
        record = await self.store.get_secret("access", token)
        if record is None:
            raise Rejected(
                google_error(401, "UNAUTHENTICATED", INVALID_AUTH, "ACCESS_TOKEN_TYPE_UNSUPPORTED")
            )
        if not scopes & set(record["scopes"]):
            message = "Request had insufficient authentication scopes."
            raise Rejected(google_error(403, "PERMISSION_DENIED", message, "ACCESS_TOKEN_SCOPE_INSUFFICIENT"))
        return record

    async def _webhook(self, params: dict[str, str], space_id: str) -> fx.ChatSpace:
        if params.get("key") != WEBHOOK_KEY:
            message = "API key not valid. Please pass a valid API key."
            raise Rejected(google_error(400, "INVALID_ARGUMENT", message, "API_KEY_INVALID"))
        record = await self.store.get_secret("webhook", params.get("token", ""))
        space = fx.space(space_id)
        if record is None or space is None or record["space"] != space.id:
            raise Rejected(google_error(401, "UNAUTHENTICATED", INVALID_AUTH))  # status (unverified)
        return space

    async def create_webhook(self, request: Request) -> Response:
        """POST /_webhooks {"space": "spaces/…", "name": "…"} (sandbox only): mint a webhook URL."""
        body = await read_json(request)
        name = body.get("space") if isinstance(body, dict) else None
        space = fx.space(name.removeprefix("spaces/")) if isinstance(name, str) else None
        if space is None or space.space_type != fx.SPACE:
            return google_error(404, "NOT_FOUND", NOT_FOUND)
        token = f"{self.canary}-{secrets.token_urlsafe(32)}"
        await self.store.put_secret("webhook", token, {"space": space.id})
        path = f"/sandbox/google_chat/chat/v1/{space.name}/messages?key={WEBHOOK_KEY}&token={token}"
        display = str(body.get("name") or "TMS Console")[:100]
        return json_response({"name": display, "space": space.name, "url": base_url(request) + path}, 201)


def _member_space(space_id: str, account: str) -> fx.ChatSpace:
    space = fx.space(space_id)
    if space is None or account not in space.members:
        raise Rejected(google_error(404, "NOT_FOUND", NOT_FOUND))
    return space


async def _message_payload(request: Request, webhook: bool) -> JsonDict:
    payload = await read_json(request) if media_type(request) == JSON_TYPE else None
    if not isinstance(payload, dict):
        raise invalid_argument("Invalid JSON payload received. Expected a JSON object.")
    for name in payload:
        if name not in MESSAGE_FIELDS:
            raise invalid_argument(
                f"Invalid JSON payload received. Unknown name \"{name}\" at 'message': Cannot find field."
            )
    text = payload.get("text", "")
    if not isinstance(text, str):
        raise invalid_argument("Invalid JSON payload received. Invalid value at 'message.text'.")
    if (payload.get("cardsV2") or payload.get("cards")) and not webhook:
        raise invalid_argument("Message cannot have cards for requests carrying human credentials.")
    if payload.get("cardsV2") is not None:
        try:
            google_chat_cards.check(payload["cardsV2"])
        except google_chat_cards.CardsError as exc:
            raise invalid_argument(str(exc)) from None
    if not text.strip() and not payload.get("cardsV2"):
        raise invalid_argument("Message cannot be empty. Discarding empty message.")
    if len(text.encode()) > MAX_TEXT_BYTES:
        raise invalid_argument("Message text is too long.")
    return payload


def _thread_id(space: fx.ChatSpace, key: str) -> str:
    return hashlib.sha256(f"{space.id}:{key}".encode()).hexdigest()[:11]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
