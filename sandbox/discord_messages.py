"""Discord message bodies: what execute-webhook accepts (PROVIDERS.md §1.8, §1.10), and how it shows them.

Limits from Discord's embed reference: 10 embeds, title 256, description 4096, 25 fields (name 256,
value 1024), footer 2048, author name 256, and 6000 characters over all embeds of a message. Failures are
`50035 Invalid Form Body` with per-field `_errors` (the nested shape is recalled in PROVIDERS.md).
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.inbox import Card
from sandbox.store import JsonDict
from sandbox.web import Rejected, json_response

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
EMBED_LIMITS = {"title": 256, "description": 4096}
FIELD_LIMITS = {"name": 256, "value": 1024}
MAX_FIELDS = 25
MENTION_TYPES = frozenset({"everyone", "users", "roles"})
USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")


def form_error(errors: JsonDict) -> Rejected:
    """Discord's 400 `Invalid Form Body` with nested per-field errors."""
    body = {"message": "Invalid Form Body", "code": 50035, "errors": errors}
    return Rejected(json_response(body, 400))


def field_error(path: list[str], code: str, message: str) -> Rejected:
    """A form error nested under `path` (e.g. ["embeds", "0", "title"])."""
    errors: JsonDict = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {key: errors}
    return form_error(errors)


def check_message(payload: Any) -> JsonDict:
    """The execute-webhook body, or the error Discord gives for it."""
    if not isinstance(payload, dict):
        raise Rejected(json_response({"message": "Cannot send an empty message", "code": 50006}, 400))
    content, embeds = payload.get("content"), payload.get("embeds")
    if content is not None and not isinstance(content, str):
        raise field_error(["content"], "BASE_TYPE_STRING", "Must be a string.")
    if content is not None and len(content) > MAX_CONTENT:
        raise field_error(["content"], "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    if embeds is not None and (not isinstance(embeds, list) or len(embeds) > MAX_EMBEDS):
        raise field_error(["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    for index, embed in enumerate(embeds or []):
        _check_embed(embed, ["embeds", str(index)])
    if sum(_embed_size(embed) for embed in embeds or []) > MAX_EMBED_TOTAL:
        raise field_error(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    _check_allowed_mentions(payload.get("allowed_mentions"))
    if not content and not embeds:
        raise Rejected(json_response({"message": "Cannot send an empty message", "code": 50006}, 400))
    return payload


def card(embed: JsonDict) -> Card:
    """An embed as the Discord client lays it out."""
    author = embed.get("author") or {}
    footer = embed.get("footer") or {}
    texts = [str(embed.get("description") or ""), str(footer.get("text") or "")]
    fields = tuple((str(f.get("name", "")), str(f.get("value", ""))) for f in embed.get("fields") or [])
    links = ((str(embed.get("title") or embed["url"]), str(embed["url"])),) if embed.get("url") else ()
    return Card(
        str(embed.get("title") or ""),
        str(author.get("name") or ""),
        tuple(t for t in texts if t),
        fields,
        links,
    )


def mentions(payload: JsonDict) -> tuple[str, ...]:
    """Who the message notifies, given `allowed_mentions` (absent: everything in the content pings)."""
    content = str(payload.get("content") or "")
    allowed = payload.get("allowed_mentions")
    parse = set(allowed.get("parse", [])) if isinstance(allowed, dict) else MENTION_TYPES
    users = set(allowed.get("users", [])) if isinstance(allowed, dict) else set()
    roles = set(allowed.get("roles", [])) if isinstance(allowed, dict) else set()
    found = [m for m in ("@everyone", "@here") if m in content and "everyone" in parse]
    found += [f"<@{u}>" for u in USER_MENTION.findall(content) if "users" in parse or u in users]
    found += [f"<@&{r}>" for r in ROLE_MENTION.findall(content) if "roles" in parse or r in roles]
    return tuple(dict.fromkeys(found))


def _check_embed(embed: Any, path: list[str]) -> None:
    if not isinstance(embed, dict):
        raise field_error(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
    for key in ("author", "footer"):
        if embed.get(key) is not None and not isinstance(embed[key], dict):
            raise field_error(
                [*path, key], "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"
            )
    for key, limit in EMBED_LIMITS.items():
        _check_text(embed.get(key), limit, [*path, key])
    _check_text((embed.get("author") or {}).get("name"), 256, [*path, "author", "name"])
    _check_text((embed.get("footer") or {}).get("text"), 2048, [*path, "footer", "text"])
    fields = embed.get("fields") or []
    if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
        raise field_error([*path, "fields"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for index, item in enumerate(fields):
        for key, limit in FIELD_LIMITS.items():
            value = item.get(key) if isinstance(item, dict) else None
            if not isinstance(value, str) or not value:
                raise field_error(
                    [*path, "fields", str(index), key], "BASE_TYPE_REQUIRED", "This field is required"
                )
            _check_text(value, limit, [*path, "fields", str(index), key])


def _check_text(value: Any, limit: int, path: list[str]) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise field_error(path, "BASE_TYPE_STRING", "Must be a string.")
    if len(value) > limit:
        raise field_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _embed_size(embed: JsonDict) -> int:
    texts = [embed.get("title"), embed.get("description"), (embed.get("footer") or {}).get("text")]
    texts += [(embed.get("author") or {}).get("name")]
    texts += [part for f in embed.get("fields") or [] for part in (f.get("name"), f.get("value"))]
    return sum(len(text) for text in texts if isinstance(text, str))


def _check_allowed_mentions(value: Any) -> None:
    if value is None:
        return
    parse = value.get("parse", []) if isinstance(value, dict) else None
    if not isinstance(parse, list) or not set(parse) <= MENTION_TYPES:
        message = "Value must be one of {'everyone', 'users', 'roles'}."  # (recalled)
        raise field_error(["allowed_mentions", "parse"], "BASE_TYPE_CHOICES", message)
