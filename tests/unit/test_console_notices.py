"""Console notices (admin notifications): every provider that may carry one renders it as its plainest
message, with tenant-chosen names as harmless as ticket text; no HTTP."""

from __future__ import annotations

import json

import pytest

from tms_console.domain.errors import NotFound
from tms_console.domain.hooks import NO_HOOKS
from tms_console.domain.messages import ThreadMode
from tms_console.providers.registry import HOOKS
from tms_console.services.notifications import notice_types

HOSTILE = "Integration Slack of project <!channel> @everyone <@U1> https://evil.example needs reconnecting"
CARRIERS = {"slack", "discord", "telegram", "google_chat", "msteams", "webhook"}


def test_chat_platforms_and_webhooks_carry_notices_whatsapp_and_the_default_do_not() -> None:
    assert set(notice_types()) == CARRIERS
    assert not HOOKS["whatsapp"].sends_notices  # business-initiated WhatsApp messages need a template
    with pytest.raises(NotFound):
        NO_HOOKS.render_notice("x")


@pytest.mark.parametrize("provider", sorted(CARRIERS))
def test_a_notice_is_one_plain_message_outside_any_thread(provider: str) -> None:
    message = HOOKS[provider].render_notice(HOSTILE)
    assert message.threading.mode is ThreadMode.NONE and json.loads(message.body()) == message.payload
    text = json.dumps(message.payload, ensure_ascii=False)
    assert "needs reconnecting" in text
    if provider != "webhook":  # a webhook's receiver gets the sentence as data
        assert "@everyone" not in text and "https://evil" not in text


def test_each_platform_escapes_its_own_markup() -> None:
    assert HOOKS["slack"].render_notice(HOSTILE).payload["text"].count("&lt;") == 2
    discord = HOOKS["discord"].render_notice(HOSTILE).payload
    assert discord["allowed_mentions"] == {"parse": []} and "\\<\\@U1\\>" in discord["content"]
    telegram = HOOKS["telegram"].render_notice(HOSTILE).payload
    assert telegram["parse_mode"] == "HTML" and "&lt;!channel&gt;" in telegram["text"]
    assert "<" not in HOOKS["google_chat"].render_notice(HOSTILE).payload["text"]
    assert HOOKS["msteams"].render_notice(HOSTILE).payload["body"]["contentType"] == "text"
    assert HOOKS["webhook"].render_notice("hi").payload == {"type": "console.notice", "text": "hi"}
