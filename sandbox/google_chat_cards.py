"""Google Chat `cardsV2` (PROVIDERS.md §4.6): the structure `spaces.messages.create` accepts, and its layout.

A message carries `cardsV2: [{"cardId", "card": {"header": {"title", "subtitle"}, "sections": [{"header",
"widgets": [...]}]}}]`. Unknown fields are refused the way Google's JSON-to-proto binding refuses them
(`Unknown name "x" at 'message.cards_v2[0].card…': Cannot find field.`).
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.inbox import Card
from sandbox.store import JsonDict

MAX_CARDS = 100  # (recalled) far above what a notification needs
CARD_FIELDS = frozenset({"header", "sections", "cardActions", "name", "fixedFooter", "sectionDividerStyle"})
SECTION_FIELDS = frozenset(
    {"header", "widgets", "collapsible", "uncollapsibleWidgetsCount", "collapseControl"}
)
WIDGETS = frozenset(
    {
        "textParagraph", "image", "decoratedText", "buttonList", "textInput", "selectionInput",
        "dateTimePicker", "divider", "grid", "columns", "chipList", "carousel",
    }
)  # fmt: skip
# What notifies people in Chat text: `<users/all>` (everyone in the space) and `<users/{id}>`.
MENTION = re.compile(r"<users/([^>|]+)>")


class CardsError(ValueError):
    """`cardsV2` Google would refuse; the message is Google's INVALID_ARGUMENT text."""


def invalid_argument(message: str) -> CardsError:
    """The error for a malformed part of `cardsV2`."""
    return CardsError(f"Invalid JSON payload received. {message}")


def check(raw: Any) -> list[JsonDict]:
    """Validated `cardsV2`; raises CardsError on the first problem."""
    if not isinstance(raw, list) or len(raw) > MAX_CARDS:
        raise invalid_argument("Invalid value at 'message.cards_v2'.")
    for index, item in enumerate(raw):
        where = f"message.cards_v2[{index}]"
        card = item.get("card") if isinstance(item, dict) else None
        if not isinstance(card, dict) or not isinstance(item.get("cardId", ""), str):
            raise invalid_argument(f"Invalid value at '{where}'.")
        _known(card, CARD_FIELDS, f"{where}.card")
        if not isinstance(card.get("header", {}), dict) or not isinstance(card.get("sections", []), list):
            raise invalid_argument(f"Invalid value at '{where}.card'.")
        for number, section in enumerate(card.get("sections") or []):
            _section(section, f"{where}.card.sections[{number}]")
    return raw


def card(item: JsonDict) -> Card:
    """One entry of `cardsV2` as Chat lays it out."""
    body = item["card"]
    header = body.get("header") or {}
    texts, fields, links = [], [], []
    for section in body.get("sections") or []:
        if section.get("header"):
            texts.append(str(section["header"]))
        for widget in section.get("widgets") or []:
            if "textParagraph" in widget:
                texts.append(str(widget["textParagraph"].get("text", "")))
            if "decoratedText" in widget:
                decorated = widget["decoratedText"]
                fields.append((str(decorated.get("topLabel", "")), str(decorated.get("text", ""))))
            for button in (widget.get("buttonList") or {}).get("buttons") or []:
                url = ((button.get("onClick") or {}).get("openLink") or {}).get("url")
                if url:
                    links.append((str(button.get("text") or url), str(url)))
    title, subtitle = str(header.get("title", "")), str(header.get("subtitle", ""))
    return Card(title, subtitle, tuple(texts), tuple(fields), tuple(links))


def mentions(text: str) -> tuple[str, ...]:
    """Who a message's text notifies (`@all` for `<users/all>`)."""
    return tuple(dict.fromkeys("@" + found for found in MENTION.findall(text)))


def _section(section: Any, where: str) -> None:
    if not isinstance(section, dict):
        raise invalid_argument(f"Invalid value at '{where}'.")
    _known(section, SECTION_FIELDS, where)
    for number, widget in enumerate(section.get("widgets") or []):
        if (
            not isinstance(widget, dict)
            or len(widget) != 1
            or not all(isinstance(v, dict) for v in widget.values())
        ):
            raise invalid_argument(
                f"Invalid value at '{where}.widgets[{number}]': one widget kind per widget."
            )
        _known(widget, WIDGETS, f"{where}.widgets[{number}]")


def _known(value: JsonDict, allowed: frozenset[str], where: str) -> None:
    for name in value:
        if name not in allowed:
            raise invalid_argument(f"Unknown name \"{name}\" at '{where}': Cannot find field.")
