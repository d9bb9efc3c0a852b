"""The sandbox's HTML: consent pages and error pages. Plain HTML forms, no JavaScript.

Every value that comes from a request or from fixture data is passed through `html.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from fastapi.responses import HTMLResponse

# The pages load nothing and are never framed; inline CSS is the only thing allowed.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

STYLE = """
body{font-family:system-ui,sans-serif;background:#f3f4f6;color:#111827;margin:0}
main{max-width:30rem;margin:3rem auto;background:#fff;border-radius:.75rem;padding:2rem;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.25rem;margin:0 0 .5rem}p.note{color:#6b7280;font-size:.875rem}
ul{padding-left:1.25rem}label{display:block;margin:1rem 0 .25rem;font-weight:600}
select{width:100%;padding:.4rem}.actions{display:flex;gap:.75rem;margin-top:1.5rem}
button{flex:1;padding:.6rem;border-radius:.5rem;border:1px solid #d1d5db;font-size:1rem}
#approve{background:#4f46e5;color:#fff;border-color:#4f46e5}
"""


@dataclass(frozen=True)
class Option:
    """One `<option>` of a picker."""

    value: str
    label: str
    selected: bool = False


@dataclass(frozen=True)
class Picker:
    """A `<select>`; options grouped under `<optgroup>` labels ("" = no group)."""

    id: str
    name: str
    label: str
    groups: Sequence[tuple[str, Sequence[Option]]]


@dataclass(frozen=True)
class Consent:
    """Everything a consent page shows and posts back."""

    title: str
    intro: str
    scopes: Sequence[str]
    action: str
    hidden: dict[str, str]
    pickers: Sequence[Picker] = field(default_factory=tuple)


def consent_page(consent: Consent) -> HTMLResponse:
    """Render a consent page whose form posts back with approve/cancel buttons.

    Args:
        consent: the page's content; all of it is escaped here.

    Returns:
        A 200 HTML response.
    """
    body = (
        f"<h1>{escape(consent.title)}</h1><p>{escape(consent.intro)}</p>"
        f"<p>This will allow the application to:</p>{_scope_list(consent.scopes)}"
        f'<form method="post" action="{escape(consent.action)}">'
        f"{_hidden_fields(consent.hidden)}{''.join(_picker(p) for p in consent.pickers)}"
        '<div class="actions">'
        '<button type="submit" id="cancel" name="decision" value="cancel">Cancel</button>'
        '<button type="submit" id="approve" name="decision" value="approve">Authorize</button>'
        '</div></form><p class="note">Sandbox provider: nothing leaves this machine.</p>'
    )
    return _page(consent.title, body, 200)


def error_page(title: str, message: str, status_code: int = 400) -> HTMLResponse:
    """An error page that, like the real providers', does not redirect anywhere."""
    body = f"<h1>{escape(title)}</h1><p>{escape(message)}</p>"
    return _page(title, body, status_code)


def html_page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    """A page around `body`, HTML the caller built with every value already escaped."""
    return _page(title, body, status_code)


def _page(title: str, body: str, status_code: int) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(document, status_code=status_code, headers=PAGE_HEADERS)


def _scope_list(scopes: Sequence[str]) -> str:
    items = "".join(f"<li><code>{escape(scope)}</code></li>" for scope in scopes)
    return f'<ul id="scopes">{items}</ul>'


def _hidden_fields(fields: dict[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )


def _picker(picker: Picker) -> str:
    groups = "".join(_option_group(label, options) for label, options in picker.groups)
    return (
        f'<label for="{escape(picker.id)}">{escape(picker.label)}</label>'
        f'<select id="{escape(picker.id)}" name="{escape(picker.name)}">{groups}</select>'
    )


def _option_group(label: str, options: Sequence[Option]) -> str:
    rendered = "".join(
        f'<option value="{escape(o.value)}"{" selected" if o.selected else ""}>{escape(o.label)}</option>'
        for o in options
    )
    return f'<optgroup label="{escape(label)}">{rendered}</optgroup>' if label else rendered
