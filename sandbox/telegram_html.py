"""Telegram's `parse_mode=HTML`: the tags it supports, its parse errors, and a safe rendering for the pages.

The error texts follow what Telegram answers (`Bad Request: can't parse entities: Unsupported start tag
"div" at byte offset 433`, offsets in UTF-8 bytes, as seen in many client bug reports); "Unexpected end
tag" and "Can't find end tag corresponding to start tag" are recalled. Tags and entities per the Bot API's
"HTML style": b/strong, i/em, u/ins, s/strike/del, span class="tg-spoiler", tg-spoiler, a href, code,
pre, blockquote [expandable], tg-emoji; `&lt; &gt; &amp; &quot;` and numeric entities.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "span": "spoiler",
    "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}  # fmt: skip
# How each entity type is laid out on the sandbox page (all of it escaped there).
PAGE_TAGS = {
    "bold": "b", "italic": "i", "underline": "u", "strikethrough": "s", "spoiler": "mark", "code": "code",
    "pre": "pre", "blockquote": "blockquote", "custom_emoji": "span",
}  # fmt: skip
ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
ATTRIBUTE = re.compile(r"""([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
PAGE_LINK = re.compile(r"(https?|tg)://", re.IGNORECASE)
# Telegram detects `@username` in text as a `mention` entity, which notifies that member (usernames are
# 5-32 characters of letters, digits and underscores, starting with a letter); `tg://user?id=` links
# are `text_mention`s of the user.
USERNAME = re.compile(r"(?<![\w@])@([A-Za-z][A-Za-z0-9_]{4,31})(?![\w])")
USER_LINK = re.compile(r"tg://user\?id=(\d+)", re.IGNORECASE)


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; the message is Telegram's description."""


@dataclass(frozen=True)
class Piece:
    """Parsed text: a run of plain text, or a tag opening/closing an entity."""

    kind: str  # "text", "open", "close"
    value: str  # the text, or the entity type
    href: str = ""


def parse(text: str) -> list[Piece]:
    """Split Telegram HTML into pieces, or raise HtmlParseError as Telegram would."""
    pieces: list[Piece] = []
    stack: list[str] = []
    index = 0
    while index < len(text):
        if text[index] == "<":
            index = _tag(text, index, pieces, stack)
        elif text[index] == "&":
            match = ENTITY.match(text, index)
            pieces.append(Piece("text", html.unescape(match.group(0)) if match else "&"))
            index = match.end() if match else index + 1
        else:
            end = min(
                (p for p in (text.find("<", index), text.find("&", index)) if p >= 0), default=len(text)
            )
            pieces.append(Piece("text", text[index:end]))
            index = end
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return pieces


def plain_text(pieces: list[Piece]) -> str:
    """The message text the chat shows, without markup."""
    return "".join(piece.value for piece in pieces if piece.kind == "text")


def mentions(pieces: list[Piece]) -> tuple[str, ...]:
    """Who the message notifies: detected `@username`s and `tg://user?id=` links."""
    found = ["@" + name for name in USERNAME.findall(plain_text(pieces))]
    found += [f"tg://user?id={m.group(1)}" for p in pieces if p.href and (m := USER_LINK.match(p.href))]
    return tuple(dict.fromkeys(found))


def entities(pieces: list[Piece]) -> list[dict[str, object]]:
    """Telegram's `MessageEntity` list (offsets and lengths in UTF-16 code units)."""
    found: list[dict[str, object]] = []
    opened: list[tuple[Piece, int]] = []
    offset = 0
    for piece in pieces:
        if piece.kind == "text":
            offset += len(piece.value.encode("utf-16-le")) // 2
        elif piece.kind == "open":
            opened.append((piece, offset))
        else:
            start, begin = opened.pop()
            entity: dict[str, object] = {"offset": begin, "length": offset - begin, "type": start.value}
            found.append(entity | ({"url": start.href} if start.href else {}))
    return [entity for entity in found if entity["length"]]


def page_html(text: str) -> str:
    """The message as the chat lays it out, as safe HTML (every text and URL escaped)."""
    try:
        pieces = parse(text)
    except HtmlParseError:
        return html.escape(text)  # never accepted by sendMessage; shown verbatim
    out = []
    for piece in pieces:
        if piece.kind == "text":
            out.append(html.escape(piece.value))
        elif piece.value == "text_link":
            out.append(_link_open(piece.href) if piece.kind == "open" else "</a>")
        else:
            tag = PAGE_TAGS[piece.value]
            out.append(f"<{tag}>" if piece.kind == "open" else f"</{tag}>")
    return "".join(out)


def _link_open(href: str) -> str:
    if not PAGE_LINK.match(href):
        return '<a class="dead">'  # Telegram refuses other schemes; never a live link on our page
    return f'<a href="{html.escape(href)}" title="{html.escape(href)}" rel="noopener noreferrer nofollow">'


def _tag(text: str, index: int, pieces: list[Piece], stack: list[str]) -> int:
    offset = len(text[:index].encode())
    end = text.find(">", index)
    if end < 0:
        raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
    inside = text[index + 1 : end]
    if inside.startswith("/"):
        name = inside[1:].strip().lower()
        if not stack or stack[-1] != name:
            raise HtmlParseError(f"Unexpected end tag at byte offset {offset}")
        stack.pop()
        pieces.append(Piece("close", ENTITY_TYPES[name]))
        return end + 1
    name, _, rest = inside.partition(" ")
    name = name.strip().lower()
    if name not in ENTITY_TYPES:
        raise HtmlParseError(f'Unsupported start tag "{inside}" at byte offset {offset}')
    attributes = {
        m.group(1): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
        for m in ATTRIBUTE.finditer(rest)
    }
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    stack.append(name)
    pieces.append(Piece("open", ENTITY_TYPES[name], attributes.get("href", "") if name == "a" else ""))
    return end + 1
