"""WhatsApp message content: text, and template messages checked against the sandbox's approved templates.

Outside the 24-hour customer-service window a business may only send an approved template (PROVIDERS.md
§6.5): `{"type": "template", "template": {"name", "language": {"code"}, "components": [{"type": "body",
"parameters": [{"type": "text", "text": "…"}]}]}}`. PROVIDERS.md does not list the template errors; the
codes here are Meta's published ones as recalled (132001 unknown template or translation, 132000 wrong
number of parameters, 132012 parameter format, 100 for a parameter with new-lines/tabs or 5+ spaces).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sandbox.inbox import Card

MAX_BODY = 4096
MAX_PARAM = 1024  # (recalled) longest text parameter
MAX_TEMPLATE_BODY = 1024  # a template's body, parameters filled in (error 132005, recalled)
BAD_SPACING = re.compile(r"[\n\t]| {5,}")
COMPONENTS = frozenset({"header", "body", "footer", "button"})


@dataclass(frozen=True)
class Template:
    """An approved template: its text with `{{n}}` placeholders, per component."""

    name: str
    languages: tuple[str, ...]
    body: str
    header: str = ""

    def count(self, component: str) -> int:
        """How many parameters a component takes."""
        return len(re.findall(r"\{\{\d+\}\}", self.header if component == "header" else self.body))


# Every new WhatsApp Business Account has Meta's `hello_world`; the ticket templates are the sandbox's.
TEMPLATES = {
    t.name: t
    for t in (
        Template(
            "hello_world",
            ("en_US",),
            "Welcome and congratulations!! This message demonstrates your ability "
            "to send a WhatsApp message notification from the Cloud API, hosted by Meta.",
            "Hello World",
        ),
        Template("ticket_update", ("en", "en_US", "de"), "Ticket {{1}}: {{2}}\nStatus: {{3}}"),
        Template("ticket_notification", ("en", "en_US"), "{{1}} — {{2}}", "Ticket {{1}}"),
        # The one the console sends (tms_console/providers/render/whatsapp.py documents it for operators).
        Template(
            "tms_ticket_update", ("en_US",), "{{1}} #{{2}}: {{3}}\nStatus: {{4}} · Priority: {{5}}\n{{6}}"
        ),
    )
}


def check_text(content: Any) -> str:
    """The body of a `type: text` message."""
    body = content.get("body") if isinstance(content, dict) else None
    if not isinstance(body, str) or not body:
        raise _error("(#100) The parameter text['body'] is required.", 100)
    if len(body) > MAX_BODY:
        raise _error(f"(#100) Param text['body'] must be at most {MAX_BODY} characters long.", 100)
    return body


def check_template(content: Any) -> Card:
    """A template message against the approved templates; the card is the text the recipient sees."""
    name = content.get("name") if isinstance(content, dict) else None
    language = content.get("language") if isinstance(content, dict) else None
    if not isinstance(name, str) or not name:
        raise _error("(#100) The parameter template['name'] is required.", 100)
    if not isinstance(language, dict) or not isinstance(language.get("code"), str):
        raise _error("(#100) The parameter template['language']['code'] is required.", 100)
    template = TEMPLATES.get(name)
    if template is None or language["code"] not in template.languages:
        details = f"template name ({name}) does not exist in {language['code']}"
        raise _error("(#132001) Template name does not exist in the translation", 132001, details)
    values = _parameters(content.get("components"), template)
    body = _fill(template.body, values["body"])
    if len(body) > MAX_TEMPLATE_BODY:
        raise _error("(#132005) Translated text too long", 132005, "Translated text is too long.")
    return Card(_fill(template.header, values["header"]), f"{name} ({language['code']})", (body,))


def _parameters(raw: Any, template: Template) -> dict[str, list[str]]:
    components = raw if raw is not None else []
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise _error("(#100) Invalid parameter", 100, "Parameter 'components' must be an array of objects")
    values: dict[str, list[str]] = {"header": [], "body": []}
    for component in components:
        kind = component.get("type")
        if kind not in COMPONENTS:
            raise _error("(#100) Invalid parameter", 100, f"Unknown component type: {kind}")
        if kind in values:
            values[kind] = [_text(p) for p in component.get("parameters") or []]
    for kind, given in values.items():
        expected = template.count(kind)
        if len(given) != expected:
            details = (
                f"{kind}: number of localizable_params ({len(given)}) does not match the expected number "
            )
            details += f"of params ({expected})"
            raise _error(
                "(#132000) Number of parameters does not match the expected number of params", 132000, details
            )
    return values


def _text(parameter: Any) -> str:
    if (
        not isinstance(parameter, dict)
        or parameter.get("type") != "text"
        or not isinstance(parameter.get("text"), str)
    ):
        details = "Parameter format does not match format in the created template"
        raise _error(
            "(#132012) Parameter format does not match format in the created template", 132012, details
        )
    text = parameter["text"]
    if not text or BAD_SPACING.search(text) or len(text) > MAX_PARAM:
        details = "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"
        raise _error("(#100) Invalid parameter", 100, details)
    return text


def _fill(text: str, values: list[str]) -> str:
    return re.sub(r"\{\{(\d+)\}\}", lambda m: values[int(m.group(1)) - 1], text)


class ContentError(ValueError):
    """Content Meta refuses: the Graph error's message, code and `error_data.details`."""

    def __init__(self, message: str, code: int, details: str | None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


def _error(message: str, code: int, details: str | None = None) -> ContentError:
    return ContentError(message, code, details)
