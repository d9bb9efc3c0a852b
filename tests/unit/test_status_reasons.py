"""An integration's status and reason in plain words, always with the action that fixes it."""

from __future__ import annotations

import pytest

from tms_console.domain.status_reasons import EXPLANATIONS, explain


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        ("active", None, ""),
        ("active", "recovered", ""),
        ("not_connected", None, ""),
        (
            "needs_reconnect",
            None,
            "The platform no longer accepts the stored credentials. Reconnect it to resume deliveries.",
        ),
        ("needs_reconnect", "tokens_revoked", EXPLANATIONS["tokens_revoked"]),
        ("needs_reconnect", "invalid_auth", "Slack no longer accepts the app's token. Reconnect Slack."),
        (
            "degraded",
            "server_error",
            "The receiving server had an error (5xx). It is tried again later. "
            "Open Activity to see the failing deliveries.",
        ),
        (
            "needs_setup",
            None,
            "Connected, but nothing is chosen to receive notifications yet. "
            "Choose where its notifications go.",
        ),
        (
            "disabled",
            "<script>",
            'The delivery failed with the code "script". Reconnect it to turn it back on.',
        ),
    ],
)
def test_each_status_needing_attention_says_why_and_what_fixes_it(
    status: str, reason: str | None, expected: str
) -> None:
    assert explain(status, reason) == expected
