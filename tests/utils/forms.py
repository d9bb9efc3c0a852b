"""Submit an HTML form the way a browser would (for tests that drive the sandbox over HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin


@dataclass
class Form:
    action: str = ""
    method: str = "get"
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (name, value)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: str | None = None
        self._select_has_value = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "input" and a.get("name") and a.get("type", "text") not in ("submit", "button"):
            self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag in ("button", "input") and a.get("id"):
            self.forms[-1].buttons[a["id"]] = (a.get("name", ""), a.get("value", ""))
        elif tag == "select":
            self._select, self._select_has_value = a.get("name"), False
        elif tag == "option" and self._select:
            if not self._select_has_value or "selected" in a:
                self.forms[-1].fields[self._select] = a.get("value", "")
                self._select_has_value = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def click(html: str, page_url: str, button_id: str, **overrides: str) -> tuple[str, str, dict[str, str]]:
    """(method, absolute action URL, form data) for pressing the button with `button_id`."""
    for form in parse_forms(html):
        if button_id in form.buttons:
            data = dict(form.fields) | overrides
            name, value = form.buttons[button_id]
            if name:
                data[name] = value
            return form.method, urljoin(page_url, form.action or page_url), data
    raise AssertionError(f"no form with button #{button_id}")


class FormFields(HTMLParser):
    """What a browser submits from the consent form: hidden inputs and each select's choice."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "input" and attr.get("type") == "hidden":
            self.fields[attr["name"]] = attr["value"]
        elif tag == "select":
            self.select = attr["name"]
        elif tag == "option" and self.select and ("selected" in attr or self.select not in self.fields):
            self.fields[self.select] = attr["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
