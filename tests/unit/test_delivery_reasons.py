"""Every reason code the delivery code can store has a plain-words sentence (domain/delivery_reasons.py).

The codes are read from the source of the delivery path, so a new code without a sentence fails here:
string literals given as a reason, `Stop(...)` reasons, `Reason.X` values raised on the way (provider
calls, token refresh), Slack's words that need a reconnect, and the numbered families (`http_`, `graph_`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tms_console.domain.delivery_reasons import explain, is_known
from tms_console.domain.messages import Outcome
from tms_console.domain.reasons import Reason
from tms_console.domain.ticket_events import DeliveryStatus
from tms_console.providers.hooks import slack

ROOT = Path(__file__).resolve().parents[2] / "tms_console"
DELIVERY_PATH = [
    *sorted((ROOT / "providers" / "hooks").glob("*.py")),
    ROOT / "providers" / "http_outcome.py",
    ROOT / "oauth" / "http.py",
    ROOT / "oauth" / "oauth2.py",
    ROOT / "services" / "tokens.py",
    ROOT / "services" / "delivery.py",
    ROOT / "services" / "delivery_outcome.py",
]
LITERALS = [
    re.compile(r"""reason\s*=\s*["']([a-z_]+)["']"""),  # SendResult(..., reason="gone")
    re.compile(r"""Stop\(\s*DeliveryStatus\.[A-Z]+,\s*["']([a-z_]+)["']"""),
    re.compile(r"""result\(\s*Outcome\.[A-Z_]+,\s*answer,\s*["']([a-z_]+)["']"""),
]
ENUM = re.compile(r"\bReason\.([A-Z_]+)\b")
# Codes built from a number: one of each kind the code builds (f"http_{status}", f"graph_{code}").
NUMBERED = ["http_400", "http_401", "http_403", "http_404", "http_409", "graph_131047", "graph_100"]


def produced_codes() -> set[str]:
    codes: set[str] = set()
    for path in DELIVERY_PATH:
        source = path.read_text()
        for pattern in LITERALS:
            codes.update(pattern.findall(source))
        codes.update(Reason[name].value for name in ENUM.findall(source))
    return codes | set(slack._RECONNECT) | {"ratelimited"}


def test_the_scan_finds_the_codes_it_should() -> None:
    """Control: the scan sees codes of each kind, so the coverage test below can fail."""
    codes = produced_codes()
    assert {"gone", "server_error", "uninstalled", "credentials_unreadable", "refresh_refused"} <= codes
    assert {"invalid_token", "bot_removed", "unknown_thread", "destination_refused"} <= codes
    assert {"provider_unavailable", "bad_response", "missing_channel", "not_in_channel"} <= codes
    assert len(codes) >= 30


@pytest.mark.parametrize("code", sorted(produced_codes()) + NUMBERED)
def test_every_produced_code_has_a_sentence_of_its_own(code: str) -> None:
    assert is_known(code), code
    sentence = explain(code)
    assert sentence.endswith(".") and not sentence.startswith("The delivery failed with the code")


@pytest.mark.parametrize(
    "code",
    ["unauthenticated", "permission_denied", "not_found", "InvalidAuthenticationToken", "Forbidden"],
)
def test_google_and_graph_words_are_known(code: str) -> None:
    assert is_known(code)


def test_numbered_codes_show_only_their_number() -> None:
    assert "HTTP 403" in explain("http_403") and "Reconnect" in explain("http_403")
    assert "HTTP 418" in explain("http_418")
    assert "error 130000" in explain("graph_130000")
    assert "24 hours" in explain("graph_131047")


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("some_new_word", '"some_new_word"'),
        ("<script>alert(1)</script>", '"scriptalert1script"'),
        ("<!channel> @everyone", '"channeleveryone"'),
        ("x" * 400, '"' + "x" * 50 + '"'),
        ("<>", '"unknown"'),
    ],
)
def test_an_unknown_code_is_named_reduced_inside_a_fixed_sentence(code: str, shown: str) -> None:
    assert not is_known(code)
    assert explain(code) == f"The delivery failed with the code {shown}."


def test_without_a_reason_the_status_speaks() -> None:
    for word in [*(s.value for s in DeliveryStatus), Outcome.RETRY.value, Outcome.AUTH_FAILED.value]:
        assert explain(None, status=word), word
    assert explain("", status="delivered") == "Delivered."
    assert explain(None) == ""
