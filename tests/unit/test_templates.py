"""Payload templates: ready-made ones render every sample into the shape each target expects, and
untrusted templates cannot reach Python internals, break out of JSON, or exhaust the server."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from tms_console.domain.events import EVENT_TYPES
from tms_console.domain.sample_events import SAMPLE_EVENTS
from tms_console.providers import templating
from tms_console.providers.ready_made import READY_MADE
from tms_console.providers.templating import TemplateError, render

CREATED = SAMPLE_EVENTS["ticket.created"]


def rendered(template: str, event: dict[str, Any] = CREATED) -> Any:
    return json.loads(render(template, event))


def test_samples_cover_every_event_type() -> None:
    assert EVENT_TYPES == (
        "ticket.created",
        "ticket.assigned",
        "ticket.status_changed",
        "ticket.priority_changed",
        "ticket.commented",
        "ticket.resolved",
    )
    assert tuple(SAMPLE_EVENTS) == EVENT_TYPES
    for event_type, event in SAMPLE_EVENTS.items():
        assert event["type"] == event_type
        assert set(event) == {"id", "type", "occurred_at", "actor", "ticket", "changes"}
        assert event["ticket"]["url"].startswith("https://")
    assert SAMPLE_EVENTS["ticket.status_changed"]["changes"]["status"] == {"from": "open", "to": "pending"}
    assert SAMPLE_EVENTS["ticket.assigned"]["ticket"]["assignee"] is not None
    assert SAMPLE_EVENTS["ticket.resolved"]["ticket"]["status"] == "resolved"
    assert SAMPLE_EVENTS["ticket.commented"]["changes"]["comment"]["body"]


def check_generic(payload: Any, event: dict[str, Any]) -> None:
    assert payload == event


def check_slack(payload: Any, event: dict[str, Any]) -> None:
    assert isinstance(payload["text"], str) and payload["text"]
    assert f"#{event['ticket']['number']}" in payload["text"]
    assert payload["blocks"] and all(isinstance(b["type"], str) for b in payload["blocks"])
    header = payload["blocks"][0]
    assert header["type"] == "header" and len(header["text"]["text"]) <= 150
    for block in payload["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert 0 < len(block["text"]["text"]) <= 3000
    buttons = [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons[0]["url"] == event["ticket"]["url"]


def check_msteams(payload: Any, event: dict[str, Any]) -> None:
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["$schema"].startswith("http://adaptivecards.io/")
    assert isinstance(card["version"], str)
    assert card["body"] and all(isinstance(item["type"], str) for item in card["body"])
    texts = [item["text"] for item in card["body"] if item["type"] == "TextBlock"]
    assert event["ticket"]["subject"] in texts and all(isinstance(t, str) and t for t in texts)
    facts = next(item["facts"] for item in card["body"] if item["type"] == "FactSet")
    assert all(isinstance(f["title"], str) and isinstance(f["value"], str) and f["value"] for f in facts)
    assert card["actions"][0] == {
        "type": "Action.OpenUrl",
        "title": "Open ticket",
        "url": event["ticket"]["url"],
    }


def check_google_chat(payload: Any, event: dict[str, Any]) -> None:
    assert set(payload) == {"text"}
    assert event["ticket"]["subject"] in payload["text"]
    assert f"<{event['ticket']['url']}|#{event['ticket']['number']}>" in payload["text"]
    assert len(payload["text"].encode()) <= 32_000


def check_discord(payload: Any, event: dict[str, Any]) -> None:
    assert isinstance(payload["content"], str) and 0 < len(payload["content"]) <= 2000
    assert payload["allowed_mentions"] == {"parse": []}
    (embed,) = payload["embeds"]
    assert 0 < len(embed["title"]) <= 256 and 0 < len(embed["description"]) <= 4096
    assert embed["url"] == event["ticket"]["url"]
    assert isinstance(embed["color"], int) and 0 <= embed["color"] <= 0xFFFFFF
    assert embed["timestamp"] == event["occurred_at"]
    assert all(f["name"] and isinstance(f["value"], str) and f["value"] for f in embed["fields"])
    assert len(embed["fields"]) <= 25


CHECKS = {
    "generic": check_generic,
    "slack": check_slack,
    "msteams": check_msteams,
    "google_chat": check_google_chat,
    "discord": check_discord,
}


def test_ready_made_templates_are_the_documented_set() -> None:
    assert set(READY_MADE) == set(CHECKS)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@pytest.mark.parametrize("name", list(CHECKS))
def test_ready_made_templates_render_every_sample_into_the_target_shape(name: str, event_type: str) -> None:
    event = SAMPLE_EVENTS[event_type]
    CHECKS[name](rendered(READY_MADE[name], event), event)


def test_comment_events_show_the_comment() -> None:
    event = SAMPLE_EVENTS["ticket.commented"]
    assert (
        event["changes"]["comment"]["body"]
        in rendered(READY_MADE["discord"], event)["embeds"][0]["description"]
    )
    assert rendered(READY_MADE["slack"], event)["text"].startswith("New comment")


def test_values_are_inserted_as_json_so_text_cannot_add_keys() -> None:
    event = copy.deepcopy(CREATED)
    event["ticket"]["subject"] = 'x", "admin": true, "y": "\\'
    payload = rendered('{"title": {{ ticket.subject }}, "same": {{ ticket.subject | tojson }}}', event)
    assert payload == {"title": event["ticket"]["subject"], "same": event["ticket"]["subject"]}


def test_every_ready_made_template_survives_hostile_ticket_text() -> None:
    event = copy.deepcopy(SAMPLE_EVENTS["ticket.commented"])
    hostile = '"}]} <!channel> @everyone {{ 7*7 }} {% raw %} \\u0000 \n\t </script> ünï ✓'
    event["ticket"]["subject"] = event["changes"]["comment"]["body"] = event["actor"]["name"] = hostile
    for name, check in CHECKS.items():
        check(rendered(READY_MADE[name], event), event)
    slack = rendered(READY_MADE["slack"], event)
    assert "<!channel>" not in slack["text"] and "&lt;!channel&gt;" in slack["text"]


def test_structured_values_and_unicode_round_trip() -> None:
    payload = rendered(
        '{"requester": {{ ticket.requester }}, "assignee": {{ ticket.assignee }}, "n": {{ ticket.number }}}'
    )
    assert payload == {"requester": CREATED["ticket"]["requester"], "assignee": None, "n": 1042}
    event = copy.deepcopy(CREATED)
    event["ticket"]["subject"] = "Ünïcode ✓ 日本"
    assert rendered("{{ ticket.subject }}", event) == "Ünïcode ✓ 日本"


def test_loops_and_conditions_work() -> None:
    template = (
        '{"changed": [{% for field, change in changes.items() %}{{ field }}'
        "{% if not loop.last %},{% endif %}{% endfor %}],"
        ' "label": {{ event_labels[event.type] }},'
        ' "who": {{ ticket.assignee.name if ticket.assignee else "nobody" }}}'
    )
    payload = rendered(template, SAMPLE_EVENTS["ticket.priority_changed"])
    assert payload == {"changed": ["priority"], "label": "Priority changed", "who": "Priya Raman"}


def test_the_event_is_not_modified() -> None:
    event = copy.deepcopy(CREATED)
    for name in READY_MADE:
        render(READY_MADE[name], event)
    assert event == CREATED


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{% if %}", "Syntax error on line 1"),
        ('{\n"a": {{ ticket.subject }\n}', "Syntax error on line 2"),
        ("{{ nope }}", "Unknown variable or field: 'nope' is undefined"),
        ("{{ ticket.nope }}", "has no attribute 'nope'"),
        ("{{ comment.body }}", "'comment' is undefined"),  # a ticket.created event has no comment
        ('{"a": "{{ ticket.subject }}"}', "not valid JSON"),
        ("Ticket {{ ticket.number }} created", "not valid JSON"),
        ("", "not valid JSON"),
        ("{{ ''.__class__ }}", "Not allowed in a template: access to attribute '__class__'"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "Not allowed"),
        ("{{ cycler.__init__.__globals__ }}", "Not allowed"),
        ("{{ namespace.__init__.__globals__['os'] }}", "Not allowed"),
        ("{{ event.__class__ }}", "Not allowed"),
        ("{{ changes.clear() }}", "Not allowed"),
        ("{{ ticket.update({'title': 'x'}) }}", "Not allowed"),
        ("{{ ''.format.__globals__ }}", "Not allowed"),
        ("{{ lipsum.__globals__ }}", "Not allowed"),
        ("{{ range }}", "cannot be inserted as JSON"),
        ("{{ 1 / 0 }}", "division by zero"),
        ('{{ "x" * 1000000000 }}', "too large"),
        ("{{ [1] * 1000000000 }}", "too large"),
        ("{{ 9 ** 9 ** 9 }}", "too large"),
        ("{% for i in range(100000) %}{{ i }},{% endfor %}", "larger than 100,000 characters"),
    ],
)
def test_bad_templates_fail_with_a_clear_message(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        render(template, CREATED)


def test_a_template_that_is_too_long_is_refused_before_rendering() -> None:
    with pytest.raises(TemplateError, match="too long"):
        render(" " * (templating.MAX_TEMPLATE_CHARS + 1) + "{}", CREATED)


def test_memory_exhaustion_is_contained() -> None:
    doubling = '{% set s = "0123456789abcdef" %}' + "{% set s = s ~ s %}" * 40 + "{{ s | length }}"
    with pytest.raises(TemplateError, match="too much memory or time"):
        render(doubling, CREATED)


def test_cpu_exhaustion_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templating, "RENDER_TIMEOUT_SECONDS", 1.0)
    loops = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}{}"
    with pytest.raises(TemplateError, match="took longer than 1 s"):
        render(loops, CREATED)


def test_the_template_context_does_not_reach_the_environment() -> None:
    with pytest.raises(TemplateError, match="Not allowed"):
        render("{{ self._TemplateReference__context.environment.globals }}", CREATED)


@pytest.mark.parametrize("event", [{"bad": {1, 2}}, {"nan": float("nan")}])
def test_events_must_be_json(event: dict[str, Any]) -> None:
    with pytest.raises(TemplateError, match="JSON"):
        render("{}", event)


def test_template_must_be_text() -> None:
    with pytest.raises(TemplateError, match="must be text"):
        render(b"{}", CREATED)  # type: ignore[arg-type]
