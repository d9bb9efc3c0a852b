"""Pure helpers behind the provider-fault handling: URL trust, Retry-After, meta cleaning, sandbox faults."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import pytest

from sandbox import faults
from tms_console.oauth.http import parse_retry_after
from tms_console.providers.registry import DISCORD, SLACK
from tms_console.providers.spec import is_trusted_url
from tms_console.services.install_meta import MAX_META_TEXT, clean_value

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "domains"),
    [
        ("https://discord.com/api/webhooks/1/abc", DISCORD.trusted_domains),
        ("https://discordapp.com/api/webhooks/1/abc", DISCORD.trusted_domains),
        ("https://canary.discord.com:443/api/webhooks/1/abc", DISCORD.trusted_domains),
        ("https://hooks.slack.com/services/T1/B1/x", SLACK.trusted_domains),
        ("https://acme.slack.com/services/B1", SLACK.trusted_domains),
    ],
)
def test_provider_urls_on_their_own_domain_are_trusted(url: str, domains: tuple[str, ...]) -> None:
    assert is_trusted_url(url, domains=domains)


@pytest.mark.parametrize(
    "url",
    [
        "http://discord.com/api/webhooks/1/abc",  # not https
        "https://discord.com:8443/api/webhooks/1/abc",  # other port
        "https://evildiscord.com/x",
        "https://discord.com.evil.example/x",
        "https://discord.com@evil.example/x",  # userinfo
        "https://evil.example\\@discord.com/x",  # browsers read the backslash as a slash
        "https://discord.com /x",
        "https://discord.com/\nx",
        "javascript:alert(1)",
        "http://127.0.0.1:6379/",
        "//discord.com/x",
        "https://discord.com:99999/x",  # invalid port
        "",
        None,
        42,
    ],
)
def test_other_urls_are_not_trusted(url: object) -> None:
    assert not is_trusted_url(url, domains=DISCORD.trusted_domains)


def test_sandbox_origin_replaces_the_provider_domains() -> None:
    origin = "http://127.0.0.1:8123"
    assert is_trusted_url("http://127.0.0.1:8123/sandbox/discord/api/webhooks/1/t", origin=origin)
    assert not is_trusted_url("http://127.0.0.1:6379/", origin=origin)
    assert not is_trusted_url("https://127.0.0.1:8123/x", origin=origin)
    assert not is_trusted_url("http://localhost:8123/x", origin=origin)
    assert not is_trusted_url("https://discord.com/api/webhooks/1/t", origin=origin)
    assert is_trusted_url("https://sbx.example/x", origin="https://sbx.example:443")


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        (email.utils.format_datetime(datetime(2026, 1, 1, 12, 0, 45, tzinfo=UTC), usegmt=True), 45.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # in the past: retry now
        ("Thu, 01 Jan 2026 12:00:10 -0000", 10.0),
    ],
)
def test_retry_after_is_parsed(header: str, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(
    "header",
    [None, "", "soon", "-5", "nan", "inf", "1e999999", "Thu, 99 Foo 2026 25:61:61 GMT", "9" * 500, "\x00"],
)
def test_unreadable_retry_after_is_none(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


@pytest.mark.parametrize("shape", ["integer", "float", "date"])
def test_sandbox_retry_after_shapes_parse(shape: str) -> None:
    value = faults.retry_after_value(shape, now=NOW.timestamp())
    assert parse_retry_after(value, now=NOW) in (30.0, 1.5)


def test_sandbox_retry_after_missing_and_garbage() -> None:
    assert faults.retry_after_value("missing") is None
    assert parse_retry_after(faults.retry_after_value("garbage")) is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),  # plain text, kept verbatim
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("a\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200fb", "ab"),
        ("nul\x00tab\tnl\nesc\x1bdel\x7fc1\x85\x9f.", "nultabnlescdelc1."),
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("Ünïcödé #support-alerts", "Ünïcödé #support-alerts"),
        ("x" * 10_000, "x" * MAX_META_TEXT),
        (None, None),
        (7, 7),
        (True, True),
    ],
)
def test_clean_keeps_bounded_visible_text(raw: object, clean: object) -> None:
    assert clean_value(raw) == clean


def test_rename_replaces_names_at_every_depth_only() -> None:
    body = {
        "guild": {"id": "1", "name": "Acme"},
        "team": "T",
        "webhook": {"name": "App", "url": "u", "channel_id": "c"},
        "channels": [{"name": "general", "position": 0}],
        "incoming_webhook": {"channel": "#a"},
    }
    renamed = faults.rename(body, "<b>")
    assert renamed["guild"] == {"id": "1", "name": "<b>"} and renamed["team"] == "<b>"
    assert renamed["webhook"] == {"name": "<b>", "url": "u", "channel_id": "c"}
    assert renamed["channels"] == [{"name": "<b>", "position": 0}]
    assert renamed["incoming_webhook"] == {"channel": "<b>"}


def test_set_urls_touches_existing_keys_only() -> None:
    body = {"incoming_webhook": {"url": "a", "configuration_url": "b"}, "ok": True}
    faults.set_urls(body, faults.URL_PATHS["webhook"], "javascript:alert(1)")
    faults.set_urls(body, faults.URL_PATHS["team"], "x")
    assert body == {"incoming_webhook": {"url": "javascript:alert(1)", "configuration_url": "b"}, "ok": True}


def test_fault_defaults_and_validation() -> None:
    fault = faults.Fault.model_validate({"mode": "hang"})
    assert fault.target == "token" and fault.hits("token") and not fault.hits("api")
    assert faults.Fault.model_validate({"mode": "html", "target": "both"}).hits("api")
    with pytest.raises(ValueError):
        faults.Fault.model_validate({"mode": "status", "status": 404})
