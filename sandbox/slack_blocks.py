"""Block Kit as `chat.postMessage` and incoming webhooks check it, and as the Slack client lays it out.

Limits from Slack's Block Kit reference: 50 blocks per message, section text 3000 characters, 10 section
fields of 2000, header 150 (plain_text only), 10 context elements, 25 actions elements, button text 75,
URLs 3000. A violation is `invalid_blocks` with Slack's `[ERROR] … [json-pointer:…]` messages; blocks that
are not a JSON array are `invalid_blocks_format`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sandbox import fixtures
from sandbox.inbox import Card, Message
from sandbox.web import Rejected, json_response

MAX_BLOCKS = 50
TEXT_TYPES = ("plain_text", "mrkdwn")
KNOWN_BLOCKS = frozenset(
    {"section", "header", "context", "divider", "actions", "image", "rich_text", "markdown", "file", "video"}
)
# What the Slack client turns into a notification: @channel/@here/@everyone, user groups and users.
MENTION = re.compile(r"<(!channel|!here|!everyone|!subteam\^[A-Z0-9]+|@[UW][A-Z0-9]+)(?:\|[^>]*)?>")
# With `link_names=true` (or `parse=full`) Slack also turns typed `@channel`, `@here` and `@everyone` into
# those mentions (chat.postMessage reference, "Formatting": link_names).
TYPED_MENTION = re.compile(r"(?<![\w@])@(channel|here|everyone)\b")


class BlocksError(ValueError):
    """Blocks Slack would refuse; `error` is the API error, `messages` its response_metadata."""

    def __init__(self, error: str, messages: list[str]) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages


def parse(raw: Any) -> list[dict[str, Any]]:
    """Blocks from a JSON body (a list) or a form field (a JSON string), validated."""
    blocks = raw
    if isinstance(raw, str):
        try:
            blocks = json.loads(raw)
        except ValueError:
            raise BlocksError("invalid_blocks_format", []) from None
    if not isinstance(blocks, list) or not all(isinstance(block, dict) for block in blocks):
        raise BlocksError("invalid_blocks_format", [])
    problems = [] if len(blocks) <= MAX_BLOCKS else [_problem("must be less than 51 items", "")]
    for index, block in enumerate(blocks):
        problems += _block_problems(block, f"/blocks/{index}")
    if problems:
        raise BlocksError("invalid_blocks", problems)
    return blocks


def card(blocks: list[dict[str, Any]]) -> Card:
    """The blocks as the message's card: header as title, sections and context as text, fields, links."""
    title, texts, fields, links = "", [], [], []
    for block in blocks:
        kind = block.get("type")
        if kind == "header" and not title:
            title = _text(block.get("text"))
        elif kind == "section":
            texts += [_text(block.get("text"))] if block.get("text") else []
            fields += [_field(_text(item)) for item in block.get("fields") or []]
        elif kind == "context":
            texts += [_text(item) for item in block.get("elements") or [] if item.get("type") in TEXT_TYPES]
        elif kind == "actions":
            links += [(_text(e.get("text")), e["url"]) for e in block.get("elements") or [] if e.get("url")]
    return Card(title=title, texts=tuple(texts), fields=tuple(fields), links=tuple(links))


def mentions(text: str, blocks: list[dict[str, Any]], *, link_names: bool = False) -> tuple[str, ...]:
    """Who the message would notify: `@channel`, `@here`, user ids (text and every block); with
    `link_names`, typed `@channel`/`@here`/`@everyone` too."""
    everything = text + json.dumps(blocks, ensure_ascii=False)
    found = MENTION.findall(everything) + (TYPED_MENTION.findall(everything) if link_names else [])
    return tuple(dict.fromkeys("@" + item.lstrip("!@") for item in found))


def typed_names_notify(args: dict[str, Any]) -> bool:
    """Whether the call asked Slack to turn typed names into mentions (`link_names`, `parse=full`)."""
    flag = args.get("link_names")
    return flag is True or str(flag).lower() in ("1", "true") or args.get("parse") == "full"


def _block_problems(block: dict[str, Any], path: str) -> list[str]:
    kind = block.get("type")
    if kind not in KNOWN_BLOCKS:
        return [_problem(f"unsupported type `{kind}`", path + "/type")]
    if kind == "header":
        return _text_problems(block.get("text"), 150, path + "/text", plain_only=True)
    if kind == "section":
        return _section_problems(block, path)
    if kind == "context":
        return _list_problems(block.get("elements"), 10, path + "/elements")
    if kind == "actions":
        return _list_problems(block.get("elements"), 25, path + "/elements") + _button_problems(block, path)
    return []


def _section_problems(block: dict[str, Any], path: str) -> list[str]:
    if not block.get("text") and not block.get("fields"):
        return [_problem("must provide either text or fields", path)]
    problems = _text_problems(block["text"], 3000, path + "/text") if block.get("text") else []
    fields = block.get("fields") or []
    problems += _list_problems(fields, 10, path + "/fields") if fields else []
    for index, item in enumerate(fields if isinstance(fields, list) else []):
        problems += _text_problems(item, 2000, f"{path}/fields/{index}")
    return problems


def _button_problems(block: dict[str, Any], path: str) -> list[str]:
    problems = []
    for index, element in enumerate(block.get("elements") or []):
        if isinstance(element, dict) and element.get("type") == "button":
            where = f"{path}/elements/{index}"
            problems += _text_problems(element.get("text"), 75, where + "/text", plain_only=True)
            if len(str(element.get("url", ""))) > 3000:
                problems.append(_problem("must be less than 3001 characters", where + "/url"))
    return problems


def _text_problems(value: Any, limit: int, path: str, plain_only: bool = False) -> list[str]:
    allowed = ("plain_text",) if plain_only else TEXT_TYPES
    if not isinstance(value, dict) or value.get("type") not in allowed:
        return [_problem(f"must be a text object of type {' or '.join(allowed)}", path)]
    text = value.get("text")
    if not isinstance(text, str) or not text:
        return [_problem("must be more than 0 characters", path + "/text")]
    if len(text) > limit:
        return [_problem(f"must be less than {limit + 1} characters", path + "/text")]
    return []


def _list_problems(value: Any, limit: int, path: str) -> list[str]:
    if not isinstance(value, list) or not value:
        return [_problem("must be a non-empty array", path)]
    if not all(isinstance(item, dict) for item in value):
        return [_problem("must be an array of objects", path)]
    return [_problem(f"must be less than {limit + 1} items", path)] if len(value) > limit else []


def _problem(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def _text(value: Any) -> str:
    return str(value.get("text", "")) if isinstance(value, dict) else ""


def _field(text: str) -> tuple[str, str]:
    # The usual field layout is "*Name*\nvalue": shown as a name/value pair.
    name, newline, value = text.partition("\n")
    return (name.strip("* "), value) if newline else ("", text)


def checked(raw: Any) -> list[dict[str, Any]]:
    """`blocks` of a chat.postMessage call (absent: none), or Slack's `ok: false` answer."""
    if raw in (None, ""):
        return []
    try:
        return parse(raw)
    except BlocksError as exc:
        extra = (
            {"errors": exc.messages, "response_metadata": {"messages": exc.messages}} if exc.messages else {}
        )
        raise Rejected(json_response({"ok": False, "error": exc.error} | extra)) from None


def inbox_message(
    ts: str, args: dict[str, Any], blocks: list[dict[str, Any]], thread_ts: str | None, via: str
) -> Message:
    """The message as the channel shows it."""
    text = str(args.get("text") or "")
    cards = (card(blocks),) if blocks else ()
    author = str(args.get("username") or fixtures.SLACK_BOT_NAME)
    notified = mentions(text, blocks, link_names=typed_names_notify(args))
    return Message(ts, text, "slack", thread_ts, author, via, cards, notified)
