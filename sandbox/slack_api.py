"""Slack sandbox, Web API side: auth.test, auth.revoke, conversations.list, chat.postMessage and
incoming webhooks (PROVIDERS.md §2.6-2.8), and the workspace admin's "Remove app" / "Revoke tokens",
which kill what the app was issued and send the Events API's `app_uninstalled` / `tokens_revoked`.

Web API failures are HTTP 200 with `{"ok": false, "error": ...}`; webhooks use real HTTP statuses.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from sandbox import app_events, faults, fixtures, slack_blocks
from sandbox.inbox import Inbox, Message
from sandbox.store import JsonDict, SandboxStore, digest
from sandbox.web import (
    FORM_TYPE,
    JSON_TYPE,
    Rejected,
    auth_token,
    base_url,
    guarded,
    json_response,
    media_type,
    read_json,
)

if TYPE_CHECKING:
    from sandbox import SandboxApp

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_TEXT = 40000
REVOKED_MEMORY = 7 * 86400  # how long a revoked token answers `token_revoked`, not `invalid_auth`
CONFIGURATION_URL = "https://sandbox-workspace.slack.com/services/{hook_id}"
THREAD_TS = re.compile(r"[0-9]{1,12}\.[0-9]{6}")


def slack_error(error: str, **extra: str) -> Response:
    """Slack's API-level failure: HTTP 200 with `ok: false`."""
    return json_response({"ok": False, "error": error, **extra})


def channel_object(channel: fixtures.SlackChannel, is_member: bool) -> JsonDict:
    """An entry of `conversations.list`."""
    purpose = {"value": channel.purpose, "creator": fixtures.SLACK_USER_ID}
    return {
        "id": channel.id,
        "name": channel.name,
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "is_mpim": False,
        "is_private": False,
        "created": fixtures.SLACK_CREATED,
        "is_archived": False,
        "is_general": channel.is_general,
        "name_normalized": channel.name,
        "is_shared": False,
        "is_org_shared": False,
        "is_member": is_member,
        "num_members": channel.num_members,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": purpose | {"last_set": fixtures.SLACK_CREATED},
        "context_team_id": fixtures.SLACK_TEAM_ID,
    }


class SlackApi:
    """Web API methods and incoming webhooks of the sandbox workspace."""

    def __init__(self, app: SandboxApp, store: SandboxStore, canary: str) -> None:
        self.app = app
        self.store = store
        self.canary = canary
        self.inbox = Inbox(store)

    def add_routes(self, router: APIRouter) -> None:
        """Register the Web API and webhook routes on the provider router."""
        auth_test = faults.with_faults(self.store, "slack", "api", self.auth_test)
        router.add_api_route("/api/auth.test", auth_test, methods=["GET", "POST"])
        router.add_api_route("/api/auth.revoke", self.auth_revoke, methods=["POST"])
        list_path = "/api/conversations.list"
        router.add_api_route(list_path, self.conversations_list, methods=["GET", "POST"])
        post = faults.with_message_faults(self.store, "slack", self.post_message)
        router.add_api_route("/api/chat.postMessage", post, methods=["POST"])
        router.add_api_route("/apps/remove", self.remove_app, methods=["POST"])
        router.add_api_route("/apps/revoke", self.revoke_tokens, methods=["POST"])
        hook_path = "/hooks/services/{team_id}/{hook_id}/{secret}"
        hook = faults.with_message_faults(self.store, "slack", self.post_hook)
        router.add_api_route(hook_path, hook, methods=["POST"])

    async def create_hook(self, request: Request, channel_id: str, team_id: str) -> JsonDict:
        """Create the incoming webhook an `incoming-webhook` install returns."""
        hook_id = f"B0SBXH{await self.store.incr('hook_serial'):05d}"
        secret = f"{self.canary}-{secrets.token_urlsafe(18)}"
        meta = {"team_id": team_id, "hook_id": hook_id, "channel_id": channel_id}
        await self.store.put_secret("hook", secret, meta)
        await self.remember("hook", secret)
        channel = fixtures.slack_channel(channel_id)
        path = f"/sandbox/slack/hooks/services/{team_id}/{hook_id}/{secret}"
        return {
            "channel": f"#{channel.name}" if channel else "",
            "channel_id": channel_id,
            "configuration_url": CONFIGURATION_URL.format(hook_id=hook_id),
            "url": base_url(request) + path,
        }

    async def remember(self, kind: str, secret: str) -> None:
        """Note a secret issued to the app in this workspace (by digest), so removing the app kills it."""
        await self.store.add_flag("installed", f"{kind}:{digest(secret)}")

    async def remove_app(self) -> Response:
        """The admin removes the app: tokens and incoming webhooks die; Slack sends `app_uninstalled`."""
        await self._kill_issued(("token", "refresh", "hook"))
        return await self._send_event({"type": "app_uninstalled"}, "App removed from the workspace")

    async def revoke_tokens(self) -> Response:
        """The admin revokes the app's tokens (webhooks stay); Slack sends `tokens_revoked`."""
        await self._kill_issued(("token", "refresh"))
        tokens = {"oauth": [fixtures.SLACK_USER_ID], "bot": [fixtures.SLACK_BOT_USER_ID]}
        return await self._send_event({"type": "tokens_revoked", "tokens": tokens}, "Tokens revoked")

    async def _kill_issued(self, kinds: tuple[str, ...]) -> None:
        for member in await self.store.members("installed"):
            kind, _, hashed = member.partition(":")
            if kind in kinds:
                await self.store.delete(kind, hashed)
                if kind == "token":  # later calls answer `token_revoked`, as Slack's do
                    await self.store.put("revoked", hashed, {}, REVOKED_MEMORY)
                await self.store.remove_flag("installed", member)

    async def _send_event(self, event: JsonDict, title: str) -> Response:
        serial = await self.store.incr("event_serial")
        envelope = {
            "token": "sandbox-verification-token",
            "team_id": fixtures.SLACK_TEAM_ID,
            "api_app_id": fixtures.SLACK_APP_ID,
            "event": event | {"event_ts": f"{app_events.now()}.{serial:06d}"},
            "type": "event_callback",
            "event_id": f"Ev0SBX{serial:08d}",
            "event_time": app_events.now(),
        }
        body = app_events.encode(envelope)
        url = app_events.events_url(self.app.redirect_uri, "slack")
        sent = await app_events.post(url, body, app_events.slack_headers(body, app_events.now()))
        return sent.html(f"Slack (sandbox): {title}")

    @guarded
    async def auth_test(self, request: Request) -> Response:
        """auth.test: who the token belongs to."""
        record = await self._authed(request, await _args(request))
        team = fixtures.slack_team(record.get("team_id")) or fixtures.SLACK_TEAMS[0]
        body = {"ok": True, "url": team.url, "team": team.name}
        if record["kind"] == "bot":
            body |= {"user": fixtures.SLACK_BOT_NAME, "team_id": team.id}
            body |= {"user_id": fixtures.SLACK_BOT_USER_ID, "bot_id": fixtures.SLACK_BOT_ID}
        else:
            body |= {"user": fixtures.SLACK_USER_NAME, "team_id": team.id}
            body |= {"user_id": fixtures.SLACK_USER_ID}
        return json_response(body | {"is_enterprise_install": False})

    @guarded
    async def auth_revoke(self, request: Request) -> Response:
        """auth.revoke: the presented token stops working (`test=1` is a dry run)."""
        args = await _args(request)
        await self._authed(request, args)
        if str(args.get("test", "")).lower() in ("1", "true"):
            return json_response({"ok": True, "revoked": False})
        token = _presented_token(request, args) or ""
        await self.store.delete_secret("token", token)
        await self.store.put_secret("revoked", token, {}, REVOKED_MEMORY)
        await self.store.incr("revocations")
        return json_response({"ok": True, "revoked": True})

    @guarded
    async def conversations_list(self, request: Request) -> Response:
        """conversations.list with cursor pagination; an empty `next_cursor` ends it."""
        args = await _args(request)
        record = await self._authed(request, args)
        _require_scope(record, "channels:read")
        limit, start = _limit(args.get("limit")), _cursor_index(args.get("cursor"))
        wanted = "public_channel" in str(args.get("types", "public_channel")).split(",")
        channels = list(fixtures.SLACK_CHANNELS) if wanted else []
        page = channels[start : start + limit]
        rest = channels[start + limit :]
        is_bot = record["kind"] == "bot"
        listed = [channel_object(c, c.bot_is_member or not is_bot) for c in page]
        next_cursor = _cursor(rest[0].id) if rest else ""
        body = {"ok": True, "channels": listed, "response_metadata": {"next_cursor": next_cursor}}
        return json_response(body)

    @guarded
    async def post_message(self, request: Request) -> Response:
        """chat.postMessage (form or JSON) to a channel id."""
        args = await _args(request, allow_json=True)
        record = await self._authed(request, args)
        _require_scope(record, "chat:write")
        channel = fixtures.slack_channel(args.get("channel"))
        if channel is None:
            raise Rejected(slack_error("channel_not_found"))
        _check_text(args)
        blocks = slack_blocks.checked(args.get("blocks"))
        thread_ts = _thread_ts(args.get("thread_ts"))
        public = "chat:write.public" in record["scopes"]
        if record["kind"] == "bot" and not (channel.bot_is_member or public):
            raise Rejected(slack_error("not_in_channel"))
        delivery = {key: value for key, value in args.items() if key != "token"}
        await self.store.record_delivery(delivery)
        ts = f"{int(time.time())}.{await self.store.incr('message_serial'):06d}"
        thread_ts = await self._thread_root(channel.id, thread_ts)
        await self.store.put("message", f"{channel.id}:{ts}", {"thread_ts": thread_ts or ts})
        await self._receive(channel.id, slack_blocks.inbox_message(ts, args, blocks, thread_ts, "api"))
        message = _message(args, ts) | ({"thread_ts": thread_ts} if thread_ts else {})
        return json_response({"ok": True, "channel": channel.id, "ts": ts, "message": message})

    async def _thread_root(self, channel_id: str, thread_ts: str | None) -> str | None:
        # A reply to a reply lands in the first message's thread, as in the Slack client.
        parent = await self.store.get("message", f"{channel_id}:{thread_ts}") if thread_ts else None
        return parent["thread_ts"] if parent else thread_ts

    async def _receive(self, channel_id: str, message: Message) -> None:
        channel = fixtures.slack_channel(channel_id)
        await self.inbox.receive(channel_id, f"#{channel.name}" if channel else channel_id, message)

    @guarded
    async def post_hook(self, request: Request, team_id: str, hook_id: str, secret: str) -> Response:
        """Incoming webhook: plain-text `ok`, or a plain-text error code with a real status."""
        meta = await self.store.get_secret("hook", secret)
        if meta is None or (meta["team_id"], meta["hook_id"]) != (team_id, hook_id):
            raise Rejected(PlainTextResponse("no_service", status_code=404))
        payload = await read_json(request)
        if not isinstance(payload, dict):
            raise Rejected(PlainTextResponse("invalid_payload", status_code=400))
        if not payload.get("text") and not payload.get("blocks"):
            raise Rejected(PlainTextResponse("no_text", status_code=400))
        try:
            blocks = slack_blocks.parse(payload["blocks"]) if payload.get("blocks") else []
        except slack_blocks.BlocksError:
            raise Rejected(PlainTextResponse("invalid_blocks", status_code=400)) from None
        await self.store.record_delivery(payload)
        ts = f"{int(time.time())}.{await self.store.incr('message_serial'):06d}"
        await self._receive(
            meta["channel_id"], slack_blocks.inbox_message(ts, payload, blocks, None, "webhook")
        )
        return PlainTextResponse("ok")

    async def _authed(self, request: Request, args: dict[str, Any]) -> JsonDict:
        token = _presented_token(request, args)
        if not token:
            raise Rejected(slack_error("not_authed"))
        record = await self.store.get_secret("token", token)
        if record is not None:
            return record
        if await self.store.get_secret("revoked", token) is not None:
            raise Rejected(slack_error("token_revoked"))
        raise Rejected(slack_error("invalid_auth"))


async def _args(request: Request, allow_json: bool = False) -> dict[str, Any]:
    # Tokens are accepted from the header or a form body, never from the URL (Slack since 2021).
    args: dict[str, Any] = {k: v for k, v in request.query_params.items() if k != "token"}
    if media_type(request) == FORM_TYPE:
        form = await request.form()
        args |= {key: value for key, value in form.items() if isinstance(value, str)}
    elif media_type(request) == JSON_TYPE and allow_json:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise Rejected(slack_error("invalid_json"))
        args |= {key: value for key, value in body.items() if key != "token"}
    return args


def _presented_token(request: Request, args: dict[str, Any]) -> str | None:
    token = auth_token(request, "Bearer") or args.get("token")
    return token if isinstance(token, str) and token else None


def _require_scope(record: JsonDict, scope: str) -> None:
    if scope not in record["scopes"]:
        provided = ",".join(record["scopes"])
        raise Rejected(slack_error("missing_scope", needed=scope, provided=provided))


def _limit(raw: Any) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    if not str(raw).isdigit():
        raise Rejected(slack_error("invalid_limit"))
    return min(max(int(raw), 1), MAX_LIMIT)


def _cursor(channel_id: str) -> str:
    return base64.b64encode(f"team:{channel_id}".encode()).decode()


def _cursor_index(raw: Any) -> int:
    if not raw:
        return 0
    try:
        decoded = base64.b64decode(str(raw), validate=True).decode()
    except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII input
        raise Rejected(slack_error("invalid_cursor")) from None
    ids = [c.id for c in fixtures.SLACK_CHANNELS]
    channel_id = decoded.removeprefix("team:")
    if not decoded.startswith("team:") or channel_id not in ids:
        raise Rejected(slack_error("invalid_cursor"))
    return ids.index(channel_id)


def _check_text(args: dict[str, Any]) -> None:
    text = args.get("text")
    if not (text or args.get("blocks") or args.get("attachments")):
        raise Rejected(slack_error("no_text"))
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise Rejected(slack_error("msg_too_long"))


def _message(args: dict[str, Any], ts: str) -> JsonDict:
    return {
        "type": "message",
        "text": args.get("text") or "",
        "user": fixtures.SLACK_BOT_USER_ID,
        "bot_id": fixtures.SLACK_BOT_ID,
        "app_id": fixtures.SLACK_APP_ID,
        "ts": ts,
        "team": fixtures.SLACK_TEAM_ID,
    }


def _thread_ts(raw: Any) -> str | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or not THREAD_TS.fullmatch(raw):
        raise Rejected(slack_error("invalid_thread_ts"))
    return raw
