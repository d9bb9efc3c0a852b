"""Hostile text made harmless: what every renderer applies before its platform's own escaping.

Ticket subjects, comments and names are written by customers. Before any platform sees them:
control characters, bidirectional overrides and zero-width characters are removed (they hide or
reorder text), URL schemes and `www.` are defanged (`https://x` -> `https[:]//x`, `www.x` -> `www[.]x`:
every client would link them, and the ticket's own URL is the only link), and `@everyone`-style
mentions get a fullwidth at sign (U+FF20), which reads the same and mentions nobody on any platform.
Each platform then escapes its own markup (Slack `&<>`, HTML, Discord markdown) and cuts at its own
limits, counted after escaping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

# C0/C1 controls except \n, zero-width and bidi formatting characters, the BOM, interlinear annotations.
# Zero-width (non-)joiners stay: emoji sequences and several scripts need them, and they hide nothing.
_INVISIBLE = re.compile(
    "[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b\u200e\u200f"
    "\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{0,30}):(?=/)")
_WWW = re.compile(r"(?i)\b(www)\.(?=\w)")
_MENTION = re.compile(r"(?i)@(everyone|here|channel|all|group|room)\b")
ELLIPSIS = "…"
MAX_INPUT = 20_000  # no platform shows more; bounds the work on a hostile 10 MB subject


def clean(text: str, *, single_line: bool = False) -> str:
    """Text with nothing hidden, no live link and no mass mention (see the module docstring)."""
    text = _INVISIBLE.sub("", text[:MAX_INPUT].replace("\r\n", "\n").replace("\t", " "))
    if single_line:
        text = " ".join(text.split())
    text = _WWW.sub(r"\1[.]", _SCHEME.sub(r"\1[:]", text))
    return _MENTION.sub("\uff20\\1", text).strip()


def cut(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` characters, marked with an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def utf16_length(text: str) -> int:
    """Length as Telegram and JavaScript count it (an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def fit(
    text: str,
    limit: int,
    escape: Callable[[str], str] = str,
    measure: Callable[[str], int] = len,
) -> str:
    """`escape(text)` cut so that its measured length is at most `limit` (escaping can lengthen text,
    so the cut is made on the raw text and measured after escaping)."""
    escaped, keep = escape(text), len(text)
    while (size := measure(escaped)) > limit and keep > 0:
        # Shrink in proportion (escaping and UTF-16 both inflate evenly enough), at least by one.
        keep = min(keep - 1, keep * limit // size)
        escaped = escape(text[: max(keep, 0)] + ELLIPSIS)
    return escaped if measure(escaped) <= limit else ""


def safe_link(url: str) -> str | None:
    """The ticket's URL if it is a plain https URL a platform can carry as a link; None otherwise."""
    if not url or len(url) > 2000 or not url.isascii() or not url.isprintable():
        return None
    if any(char in url for char in ' <>"|\\`{}^'):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme == "https" and parts.hostname else None
