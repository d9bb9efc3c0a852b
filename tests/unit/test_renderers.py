"""One renderer per provider: each sample event in the platform's native shape, with threading data.

Golden shapes for the `ticket.commented` sample; every sample through every renderer; no HTTP.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tms_console.domain.errors import NotFound
from tms_console.domain.events import EVENT_TYPES, TicketEvent
from tms_console.domain.hooks import NO_HOOKS
from tms_console.domain.messages import RenderedMessage, ThreadMode
from tms_console.domain.sample_events import SAMPLE_EVENTS
from tms_console.providers.ready_made import READY_MADE
from tms_console.providers.registry import HOOKS, PROVIDERS
from tms_console.providers.templating import TemplateError

COMMENTED = TicketEvent.from_dict(SAMPLE_EVENTS["ticket.commented"])
URL = "https://tms.example.com/t/northwind/tickets/1042"
COMMENT = SAMPLE_EVENTS["ticket.commented"]["changes"]["comment"]["body"]


def render(provider: str, event: TicketEvent = COMMENTED, **meta: Any) -> RenderedMessage:
    return HOOKS[provider].render_event(event, meta)


def test_every_provider_renders_ticket_events_and_the_default_refuses() -> None:
    assert set(HOOKS) == set(PROVIDERS) and all(hooks.renders_events for hooks in HOOKS.values())
    with pytest.raises(NotFound):
        NO_HOOKS.render_event(COMMENTED, {})


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_every_sample_renders_to_json_with_threading_by_ticket(provider: str, event_type: str) -> None:
    event = TicketEvent.from_dict(SAMPLE_EVENTS[event_type])
    message = render(provider, event)
    assert json.loads(message.body()) == message.payload
    if message.threading.mode is not ThreadMode.NONE:
        assert message.threading.key == render(provider).threading.key  # one ticket, one thread
        assert message.threading.key.startswith("tms-ticket-")


def test_slack_block_kit_with_a_text_fallback_replies_in_thread() -> None:
    message = render("slack")
    payload = message.payload
    assert payload["text"] == 'New comment: #1042 Invoice PDF shows "0.00" total after plan upgrade'
    assert [block["type"] for block in payload["blocks"]] == [
        "header",
        "section",
        "section",
        "context",
        "actions",
    ]
    assert payload["blocks"][0]["text"] == {"type": "plain_text", "text": payload["text"]}
    assert payload["blocks"][1]["text"] == {"type": "mrkdwn", "text": COMMENT}
    assert [f["text"] for f in payload["blocks"][2]["fields"]] == [
        "*Status*\npending",
        "*Priority*\nurgent",
        "*Assignee*\nPriya Raman",
    ]
    assert payload["blocks"][4]["elements"][0]["url"] == URL
    assert (message.threading.mode, message.threading.handle_field) == (
        ThreadMode.REPLY_TO_FIRST,
        "thread_ts",
    )


def test_discord_one_embed_and_no_mentions() -> None:
    payload = render("discord").payload
    assert set(payload) == {"embeds", "allowed_mentions"} and payload["allowed_mentions"] == {"parse": []}
    (embed,) = payload["embeds"]
    assert embed["title"] == '\\#1042 Invoice PDF shows "0.00" total after plan upgrade'
    assert embed["url"] == URL and embed["description"] == COMMENT
    assert embed["timestamp"] == "2025-03-14T10:05:51Z" and embed["color"] == 0xED4245
    assert [(f["name"], f["value"], f["inline"]) for f in embed["fields"]] == [
        ("Status", "pending", True),
        ("Priority", "urgent", True),
        ("Assignee", "Priya Raman", True),
    ]
    assert embed["footer"] == {"text": "New comment · by Priya Raman"}


def test_teams_graph_message_with_one_adaptive_card() -> None:
    message = render("msteams")
    payload = message.payload
    (attachment,) = payload["attachments"]
    assert payload["body"] == {
        "contentType": "html",
        "content": f'<attachment id="{attachment["id"]}"></attachment>',
    }
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = json.loads(attachment["content"])  # Graph takes the card as a JSON string
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    runs = [
        run["text"] for block in card["body"] if block["type"] == "RichTextBlock" for run in block["inlines"]
    ]
    assert runs[:2] == ['#1042 Invoice PDF shows "0.00" total after plan upgrade', COMMENT]
    assert "Status: pending" in runs and "Assignee: Priya Raman" in runs
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open ticket", "url": URL}]
    assert message.threading.handle_field == "replies_of"


def test_google_chat_cards_v2_threaded_by_key() -> None:
    message = render("google_chat")
    payload = message.payload
    text = 'New comment: #1042 Invoice PDF shows "0.00" total after plan upgrade'
    assert payload["text"] == f"{text}\n<{URL}|Open ticket>"  # the link a card-less post still shows
    (card,) = payload["cardsV2"]
    assert card["card"]["header"]["title"] == '#1042 Invoice PDF shows "0.00" total after plan upgrade'
    widgets = card["card"]["sections"][0]["widgets"]
    assert widgets[0] == {"textParagraph": {"text": COMMENT}}
    assert {"decoratedText": {"topLabel": "Status", "text": "pending"}} in widgets
    assert widgets[-1]["buttonList"]["buttons"][0]["onClick"] == {"openLink": {"url": URL}}
    assert payload["thread"] == {"threadKey": message.threading.key}
    assert message.threading.mode is ThreadMode.KEYED
    assert message.query == {"messageReplyOption": "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"}


def test_telegram_html_message_replies_to_the_first() -> None:
    message = render("telegram")
    assert message.payload == {
        "text": "<b>New comment</b>: #1042 Invoice PDF shows &quot;0.00&quot; total after plan upgrade\n"
        + COMMENT.replace("'", "&#x27;")
        + "\nStatus: pending\nPriority: urgent\nAssignee: Priya Raman\nBy Priya Raman\n"
        + f'<a href="{URL}">Open ticket</a>',
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    assert message.threading.handle_field == "reply_parameters.message_id"


def test_whatsapp_template_message_with_positional_parameters() -> None:
    message = render("whatsapp")
    template = message.payload["template"]
    assert message.payload["type"] == "template" and message.payload["messaging_product"] == "whatsapp"
    assert template["name"] == "tms_ticket_update" and template["language"] == {"code": "en_US"}
    (body,) = template["components"]
    assert [p["text"] for p in body["parameters"]] == [
        "New comment",
        "1042",
        'Invoice PDF shows "0.00" total after plan upgrade',
        "pending",
        "urgent",
        URL,
    ]
    assert message.threading.mode is ThreadMode.NONE


def test_whatsapp_takes_the_approved_template_from_meta_when_well_formed() -> None:
    chosen = render("whatsapp", template_name="acme_ticket", template_language="de_DE").payload["template"]
    assert (chosen["name"], chosen["language"]) == ("acme_ticket", {"code": "de_DE"})
    odd = render("whatsapp", template_name="Bad Name!", template_language="xx-evil").payload["template"]
    assert (odd["name"], odd["language"]) == ("tms_ticket_update", {"code": "en_US"})


def test_webhook_sends_the_event_or_its_template() -> None:
    assert render("webhook").payload == SAMPLE_EVENTS["ticket.commented"]
    slack_shaped = HOOKS["webhook"].render_event(COMMENTED, {}, template=READY_MADE["slack"]).payload
    assert slack_shaped["text"].startswith("New comment: #1042")


def test_a_template_written_before_issue_10_still_renders() -> None:
    old = '{"t": {{ ticket.title }}, "c": {{ comment.body }}}'
    assert HOOKS["webhook"].render_event(COMMENTED, {}, template=old).payload == {
        "t": COMMENTED.ticket.subject,
        "c": COMMENT,
    }
    with pytest.raises(TemplateError, match="Unknown variable"):
        HOOKS["webhook"].render_event(COMMENTED, {}, template="{{ nope }}")
