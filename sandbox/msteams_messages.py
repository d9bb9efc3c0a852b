"""Microsoft Teams sandbox, channel messages through Graph: post and reply (PROVIDERS.md §3.8).

`POST /teams/{team}/channels/{channel}/messages` and `…/messages/{id}/replies`, delegated Bearer token with
`ChannelMessage.Send`, answer 201 and the chatMessage. A card travels as Graph's docs show it ("Send a
card"): an attachment `{"id", "contentType": "application/vnd.microsoft.card.adaptive", "content": "<the
card as a JSON string>"}` referenced from the HTML body by `<attachment id="…"></attachment>`. The error
wording for bad attachments is the sandbox's own (Graph answers 400 BadRequest; its texts are not in
PROVIDERS.md).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox import faults, message_links
from sandbox import msteams_fixtures as world
from sandbox.inbox import Card, Inbox, Message, TextFormat
from sandbox.msteams_graph import METADATA, SEND_SCOPES, GraphApi, graph_error, joined_team
from sandbox.store import JsonDict
from sandbox.web import JSON_TYPE, Rejected, guarded, json_response, media_type, read_json

MAX_CONTENT = 28_000  # Teams rejects messages over ~28 KB
MESSAGE_ID_BASE = 1_736_400_000_000  # message ids are millisecond timestamps in Graph
ADAPTIVE = "application/vnd.microsoft.card.adaptive"
REFERENCE = re.compile(r"""<attachment\s+id=["']([^"']+)["']\s*>\s*</attachment>""", re.IGNORECASE)


def bad_request(message: str) -> Rejected:
    """Graph's 400 BadRequest."""
    return Rejected(graph_error(400, "BadRequest", message))


class ChannelMessages:
    """Posting to a channel and replying to a channel message."""

    def __init__(self, graph: GraphApi) -> None:
        self.graph = graph
        self.store = graph.store
        self.inbox = Inbox(graph.store)

    def add_routes(self, router: APIRouter) -> None:
        """Register the message routes (the router's prefix is `/sandbox/msteams`)."""
        base = "/graph/v1.0/teams/{team_id}/channels/{channel_id}/messages"
        post = faults.with_message_faults(self.store, "msteams", self.post_message)
        router.add_api_route(base, post, methods=["POST"])
        reply = faults.with_message_faults(self.store, "msteams", self.post_reply)
        router.add_api_route(base + "/{message_id}/replies", reply, methods=["POST"])

    @guarded
    async def post_message(self, request: Request, team_id: str, channel_id: str) -> Response:
        """POST …/messages: a new message (a new thread) in the channel."""
        return await self._post(request, team_id, channel_id, None)

    @guarded
    async def post_reply(self, request: Request, team_id: str, channel_id: str, message_id: str) -> Response:
        """POST …/messages/{id}/replies: a reply in the thread of a message of that channel."""
        return await self._post(request, team_id, channel_id, message_id)

    async def _post(self, request: Request, team_id: str, channel_id: str, parent: str | None) -> Response:
        tenant, _ = await self.graph.authed(request, SEND_SCOPES)
        team = joined_team(tenant, team_id)
        channel = team.channel(channel_id)
        if channel is None:
            raise Rejected(graph_error(404, "NotFound", f"Channel '{channel_id}' was not found."))
        parent = await self._root(channel, parent)
        payload = await read_json(request) if media_type(request) == JSON_TYPE else None
        payload, body, cards = message_body(payload)
        identity = {"teamId": team.id, "channelId": channel.id}
        reply = {"replyToId": parent} if parent else {}
        await self.store.record_delivery({"channelIdentity": identity, **reply, **payload})
        message_id = str(MESSAGE_ID_BASE + await self.store.incr("message_serial"))
        await self.store.put("message", f"{channel.id}:{message_id}", {"replyToId": parent})
        await self._receive(
            team,
            channel,
            Message(
                message_id,
                body["content"],
                _format(body),
                parent,
                tenant.user.display_name,
                "graph",
                cards,
                _mentions(payload),
            ),
        )
        message = chat_message(tenant, team, channel, message_id, payload, body)
        return json_response(message | {"replyToId": parent}, 201)

    async def _root(self, channel: world.Channel, parent: str | None) -> str | None:
        """The thread a reply joins: its parent's, as Teams shows replies under the first message."""
        if parent is None:
            return None
        record = await self.store.get("message", f"{channel.id}:{parent}")
        if record is None:
            raise Rejected(graph_error(404, "NotFound", f"Message '{parent}' was not found."))
        return record["replyToId"] or parent

    async def _receive(self, team: world.Team, channel: world.Channel, message: Message) -> None:
        name = f"{team.display_name} / {channel.display_name}"
        await self.inbox.receive(f"{team.id}:{channel.id}", name, message)


def message_body(payload: Any) -> tuple[JsonDict, JsonDict, tuple[Card, ...]]:
    """The posted chatMessage, its validated `body`, and its Adaptive Cards."""
    body = payload.get("body") if isinstance(payload, dict) else None
    if not isinstance(payload, dict) or not isinstance(body, dict):
        raise bad_request("Invalid request body: a chatMessage with a 'body' is required.")
    content, content_type = body.get("content"), str(body.get("contentType", "text")).lower()
    if not isinstance(content, str) or not content.strip():
        raise bad_request("Message body content cannot be empty.")
    if content_type not in ("text", "html"):
        raise bad_request(f"Invalid contentType '{body.get('contentType')}'; use 'text' or 'html'.")
    if len(content.encode()) > MAX_CONTENT:
        raise Rejected(graph_error(413, "RequestEntityTooLarge", "The message exceeds the size limit."))
    cards = _attachments(payload.get("attachments"), content)
    return payload, {"contentType": content_type, "content": content}, cards


def _attachments(raw: Any, content: str) -> tuple[Card, ...]:
    attachments = raw or []
    if not isinstance(attachments, list) or not all(isinstance(item, dict) for item in attachments):
        raise bad_request("Invalid value for 'attachments': an array of chatMessageAttachment is required.")
    ids = [str(item.get("id") or "") for item in attachments]
    referenced = set(REFERENCE.findall(content))
    if "" in ids or len(set(ids)) != len(ids):
        raise bad_request("Every attachment needs a unique 'id'.")
    if set(ids) != referenced:
        missing = sorted(set(ids) ^ referenced)[0]
        raise bad_request(f"Attachment '{missing}' must be both in 'attachments' and referenced in the body.")
    return tuple(_card(item) for item in attachments if item.get("contentType") == ADAPTIVE)


def _card(attachment: JsonDict) -> Card:
    raw = attachment.get("content")
    try:
        card = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        card = None
    if (
        not isinstance(card, dict)
        or card.get("type") != "AdaptiveCard"
        or not isinstance(card.get("body"), list)
    ):
        raise bad_request("An Adaptive Card attachment's 'content' must be the card as a JSON string.")
    elements = _elements(card["body"])
    fields = [
        (str(f.get("title", "")), str(f.get("value", "")))
        for element in elements
        if element.get("type") == "FactSet"
        for f in element.get("facts") or []
    ]
    texts = [text for element in elements for text in _texts(element)]
    blocks = [str(e.get("text", "")) for e in elements if e.get("type") == "TextBlock" and e.get("text")]
    title = blocks[0] if blocks else ""
    if title:
        texts.remove(title)
    return Card(title=title, texts=tuple(texts), fields=tuple(fields), links=tuple(_links(card, elements)))


def _texts(element: JsonDict) -> list[str]:
    """What an element shows: a TextBlock's text, or a RichTextBlock's runs joined (plain text)."""
    if element.get("type") == "TextBlock" and element.get("text"):
        return [str(element["text"])]
    if element.get("type") == "RichTextBlock":
        runs = [i for i in element.get("inlines") or [] if isinstance(i, dict)]
        text = "".join(str(run.get("text", "")) for run in runs)
        return [text] if text else []
    return []


def _links(card: JsonDict, elements: list[JsonDict]) -> list[tuple[str, str]]:
    """What opens a URL: Action.OpenUrl (card actions, ActionSets, selectActions of elements and text
    runs) and markdown links in TextBlocks (TextRuns are plain text)."""
    actions = [a for a in card.get("actions") or [] if isinstance(a, dict)]
    for element in elements:
        actions += [a for a in element.get("actions") or [] if isinstance(a, dict)]
        runs = [i for i in element.get("inlines") or [] if isinstance(i, dict)]
        actions += [x["selectAction"] for x in [element, *runs] if isinstance(x.get("selectAction"), dict)]
    found = [
        (str(a.get("title") or a.get("url")), str(a.get("url")))
        for a in actions
        if a.get("type") == "Action.OpenUrl"
    ]
    for element in elements:
        if element.get("type") == "TextBlock":
            found += [(url, url) for url in message_links.markdown(str(element.get("text", "")))]
    return found


def _elements(items: Any) -> list[JsonDict]:
    """Every element of a card body, containers and columns included, in reading order."""
    found: list[JsonDict] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            found.append(item)
            found += _elements(item.get("items")) + _elements(item.get("columns"))
    return found


def _format(body: JsonDict) -> TextFormat:
    return "teams_html" if body["contentType"] == "html" else "plain"


def _mentions(payload: JsonDict) -> tuple[str, ...]:
    # Only `<at>` tags listed in `mentions[]` notify anyone in Teams.
    listed = payload.get("mentions") or []
    return tuple(str(m.get("mentionText", "")) for m in listed if isinstance(m, dict))


def chat_message(
    tenant: world.Tenant,
    team: world.Team,
    channel: world.Channel,
    message_id: str,
    payload: JsonDict,
    body: JsonDict,
) -> JsonDict:
    """The chatMessage Graph answers with."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    user = {"@odata.type": "#microsoft.graph.teamworkUserIdentity", "id": tenant.user.oid}
    user |= {"displayName": tenant.user.display_name, "userIdentityType": "aadUser", "tenantId": tenant.id}
    link = f"https://teams.microsoft.com/l/message/{quote(channel.id)}/{message_id}"
    return {
        "@odata.context": f"{METADATA}#teams('{team.id}')/channels('{quote(channel.id)}')/messages/$entity",
        "id": message_id,
        "replyToId": None,
        "etag": message_id,
        "messageType": "message",
        "createdDateTime": now,
        "lastModifiedDateTime": now,
        "lastEditedDateTime": None,
        "deletedDateTime": None,
        "subject": payload.get("subject"),
        "summary": None,
        "chatId": None,
        "importance": payload.get("importance", "normal"),
        "locale": "en-us",
        "webUrl": f"{link}?groupId={team.id}&tenantId={tenant.id}&parentMessageId={message_id}",
        "policyViolation": None,
        "eventDetail": None,
        "from": {"application": None, "device": None, "user": user},
        "body": body,
        "channelIdentity": {"teamId": team.id, "channelId": channel.id},
        "attachments": payload.get("attachments") or [],
        "mentions": payload.get("mentions") or [],
        "reactions": [],
    }
