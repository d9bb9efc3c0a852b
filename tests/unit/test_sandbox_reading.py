"""The sandbox reads received messages as each platform would: what links and mentions it finds in raw,
unescaped text. tests/integration/test_hostile_delivery.py asserts the console's messages have none, so
these prove the reader would have seen them."""

from __future__ import annotations

import json

import pytest

from sandbox import discord_messages, google_chat_cards, msteams_messages, slack_blocks, telegram_html
from sandbox.inbox import Card, Message
from sandbox.message_links import links

OURS = "https://tms.example/t/1"


def message(text: str, form: str, *cards: Card) -> Message:
    return Message("1", text, form, cards=cards)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "form", "expected"),
    [
        ("see <https://evil.example|click> and https://evil.example/b.", "slack", ["https://evil.example", "https://evil.example/b"]),
        ("&lt;!here&gt; www.evil.example", "slack", ["www.evil.example"]),
        ("<https://evil.example|x> <users/all>", "google", ["https://evil.example"]),
        ("[click](https://evil.example/a) <https://evil.example/b> ftp://evil.example", "discord",
         ["https://evil.example/a", "https://evil.example/b", "ftp://evil.example"]),
        ('<a href="tg://user?id=1">u</a> www.evil.example', "telegram_html",
         ["tg://user?id=1", "www.evil.example"]),
        ('<p><a href="https://evil.example">x</a></p>', "teams_html", ["https://evil.example"]),
        ("call https://evil.example now", "plain", ["https://evil.example"]),
    ],
)  # fmt: skip
def test_links_in_raw_text_are_found(text: str, form: str, expected: list[str]) -> None:
    assert list(links(message(text, form))) == expected


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (r"\[click\]\(https[:]//evil.example/a\) \<https[:]//x\>", "discord"),
        ("&lt;https[:]//evil.example|x&gt; www[.]evil.example", "slack"),
        ("&lt;a href=&quot;https[:]//evil.example&quot;&gt;", "telegram_html"),
        ("\u2039https[:]//evil.example|x\u203a", "google"),
    ],
)
def test_escaped_and_defanged_text_is_no_link(text: str, form: str) -> None:
    assert links(message(text, form)) == ()


def test_card_links_and_card_text_are_read_too() -> None:
    card = Card("t", texts=('<a href="https://evil.example/c">x</a>',), links=(("Open", OURS),))
    assert links(message("", "google", card)) == (OURS, "https://evil.example/c")
    assert links(message("", "discord", Card(fields=(("F", "[x](https://e.example)"),)))) == (
        "https://e.example",
    )


def test_slack_mentions_control_sequences_and_typed_names_when_asked() -> None:
    text, blocks = "<!channel> <@U024BE7LH> @here", [{"type": "section", "text": {"text": "<!here>"}}]
    assert slack_blocks.mentions(text, blocks) == ("@channel", "@U024BE7LH", "@here")
    assert slack_blocks.mentions("@everyone", [], link_names=True) == ("@everyone",)
    assert slack_blocks.mentions("@everyone", []) == ()
    assert slack_blocks.typed_names_notify({"link_names": "1"}) and slack_blocks.typed_names_notify(
        {"parse": "full"}
    )


def test_discord_pings_content_unless_allowed_mentions_is_empty() -> None:
    payload = {"content": "@everyone <@&123> <@456>"}
    assert discord_messages.mentions(payload) == ("@everyone", "<@456>", "<@&123>")
    assert discord_messages.mentions(payload | {"allowed_mentions": {"parse": []}}) == ()


def test_telegram_mentions_usernames_and_user_links_not_emails_or_fullwidth_signs() -> None:
    pieces = telegram_html.parse(
        '@support_lead carol@example.com \uff20everyone @abc <a href="tg://user?id=7">u</a>'
    )
    assert telegram_html.mentions(pieces) == ("@support_lead", "tg://user?id=7")


def test_google_chat_mentions_users_all() -> None:
    assert google_chat_cards.mentions("hi <users/all> <users/42>") == ("@all", "@42")


def test_teams_card_links_come_from_actions_select_actions_and_text_block_markdown() -> None:
    card = {
        "type": "AdaptiveCard",
        "body": [
            {"type": "TextBlock", "text": "Title"},
            {"type": "TextBlock", "text": "[pay](https://evil.example/md)"},
            {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "[x](https://plain.example)",
             "selectAction": {"type": "Action.OpenUrl", "url": "https://evil.example/run"}}]},
            {"type": "ActionSet", "actions": [{"type": "Action.OpenUrl", "title": "A", "url": "https://evil.example/set"}]},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": OURS}],
    }  # fmt: skip
    parsed = msteams_messages._card({"content": json.dumps(card)})
    assert [url for _, url in parsed.links] == [
        OURS,
        "https://evil.example/run",
        "https://evil.example/set",
        "https://evil.example/md",
    ]
    assert parsed.title == "Title" and "[x](https://plain.example)" in parsed.texts  # a TextRun is plain
