"""Health checks and refresh without I/O: when a token is due, the scheduler's cron, the settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from croniter import croniter
from pydantic import ValidationError

from tms_console.domain.errors import ProviderError
from tms_console.domain.reasons import Reason
from tms_console.domain.status_reasons import explain
from tms_console.jobs.app import schedule_cron
from tms_console.persistence.models import IntegrationCredential
from tms_console.providers.hooks.slack import SlackHooks
from tms_console.providers.registry import GOOGLE_CHAT, PROVIDERS, SLACK
from tms_console.services import refresh
from tms_console.settings import Settings, clear_settings_cache

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def credential(
    expires_in: timedelta | None, refreshed_ago: timedelta = timedelta(0)
) -> IntegrationCredential:
    expires = None if expires_in is None else NOW + expires_in
    return IntegrationCredential(
        key_id="k", nonce=b"", ciphertext=b"", expires_at=expires, updated_at=NOW - refreshed_ago
    )


def test_a_token_is_due_fifteen_minutes_before_it_expires() -> None:
    assert refresh.is_due(SLACK, credential(timedelta(minutes=15)), NOW)
    assert refresh.is_due(SLACK, credential(timedelta(minutes=-5)), NOW)
    assert not refresh.is_due(SLACK, credential(timedelta(minutes=16)), NOW)
    assert not refresh.is_due(SLACK, credential(None), NOW)  # a token that never expires (no rotation)


def test_refresh_tokens_that_die_unused_are_refreshed_daily() -> None:
    week_old = credential(timedelta(days=6), refreshed_ago=timedelta(days=1))
    assert refresh.is_due(GOOGLE_CHAT, week_old, NOW)
    assert not refresh.is_due(SLACK, week_old, NOW)
    assert not refresh.is_due(GOOGLE_CHAT, credential(timedelta(days=6), timedelta(hours=23)), NOW)
    assert {key for key, spec in PROVIDERS.items() if spec.refresh_when_idle} == {"msteams", "google_chat"}


@pytest.mark.parametrize(
    ("seconds", "cron"), [(60, "* * * * *"), (10, "* * * * * */10"), (1, "* * * * * */1")]
)
def test_the_scheduler_ticks_every_health_schedule_seconds(
    monkeypatch: pytest.MonkeyPatch, seconds: int, cron: str
) -> None:
    monkeypatch.setenv("HEALTH_SCHEDULE_SECONDS", str(seconds))
    clear_settings_cache()
    try:
        assert schedule_cron() == cron
    finally:
        monkeypatch.undo()
        clear_settings_cache()
    ticks = croniter(cron, NOW)
    assert ticks.get_next(datetime) - ticks.get_next(datetime) == timedelta(seconds=-seconds)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("HEALTH_SCHEDULE_SECONDS", "7", "HEALTH_SCHEDULE_SECONDS must divide 60"),
        ("HEALTH_SCHEDULE_SECONDS", "120", "less than or equal to 60"),
        ("HEALTH_CHECK_MINUTES", "0", "greater than 0"),
        ("HEALTH_RATE_PER_SECOND", "0", "greater than or equal to 1"),
    ],
)
def test_bad_health_settings_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert says in str(refused.value) and variable.lower() in str(refused.value).lower()


@pytest.mark.parametrize(
    "reason",
    ["access_revoked", "no_access", "webhook_deleted", "space_not_found", "phone_number_not_found",
     "check_failing", "refresh_failing", "invalid_grant", "bot_removed", "invalid_auth", "channel_not_found"],
)  # fmt: skip
def test_every_reason_a_check_or_refresh_sets_reads_as_a_fix(reason: str) -> None:
    status = "degraded" if reason.endswith("_failing") else "needs_reconnect"
    said = explain(status, reason)
    assert ("Reconnect" in said or "Activity" in said or "Pick" in said) and reason not in said


def test_a_slack_rotation_refresh_is_judged_without_the_install_s_fields() -> None:
    """PROVIDERS.md §2.5: the refresh answer has the new tokens, not the incoming webhook."""
    refreshed = {
        "ok": True,
        "access_token": "xoxb-valid-refreshed",
        "expires_in": 43200,
        "refresh_token": "xoxe-1-valid-bot-refreshed",
        "token_type": "bot",
    }
    assert SlackHooks().check_token_response(200, refreshed, refreshing=True) == refreshed
    with pytest.raises(ProviderError) as refused:
        SlackHooks().check_token_response(200, refreshed)  # as an install's answer: no team, no channel
    assert refused.value.reason is Reason.BAD_RESPONSE
    spent = {"ok": False, "error": "invalid_refresh_token"}
    with pytest.raises(ProviderError) as refused:
        SlackHooks().check_token_response(200, spent, refreshing=True)
    assert refused.value.reason is Reason.INVALID_GRANT
