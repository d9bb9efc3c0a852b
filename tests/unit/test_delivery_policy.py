"""The delivery policy without I/O: the retry schedule and what an HTTP answer means (DELIVERY.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tms_console.domain.messages import Outcome, RenderedMessage
from tms_console.domain.retry_schedule import MAX_ATTEMPTS, SCHEDULE, next_delay
from tms_console.providers.http_outcome import judge_status, network_failure, parse_retry_after, truncate


def no_jitter(low: float, high: float) -> float:
    return (low + high) / 2


def test_the_schedule_is_svix_s_and_gives_up_after_the_eighth_attempt() -> None:
    delays = [next_delay(n, uniform=no_jitter) for n in range(1, MAX_ATTEMPTS + 1)]
    assert delays == [5, 300, 1800, 7200, 18000, 36000, 36000, None]
    assert SCHEDULE[0] == 0 and sum(SCHEDULE) == pytest.approx(27.5 * 3600, rel=0.01)
    assert next_delay(0) is None


def test_jitter_stays_within_ten_percent() -> None:
    assert next_delay(2, uniform=lambda low, high: low) == pytest.approx(270)
    assert next_delay(2, uniform=lambda low, high: high) == pytest.approx(330)


def test_retry_after_is_honoured_and_every_delay_is_scaled() -> None:
    assert next_delay(1, retry_after=60, uniform=no_jitter) == 60  # longer than the planned 5 s
    assert next_delay(3, retry_after=60, uniform=no_jitter) == 1800  # never earlier than planned
    assert next_delay(1, retry_after=60, scale=0.001, uniform=no_jitter) == pytest.approx(0.06)
    assert next_delay(7, scale=0.001, uniform=no_jitter) == pytest.approx(36)


@pytest.mark.parametrize(
    ("status", "outcome", "reason"),
    [
        (200, Outcome.DELIVERED, ""),
        (202, Outcome.DELIVERED, ""),  # every 2xx (Zammad once retried 202)
        (204, Outcome.DELIVERED, ""),
        (301, Outcome.REJECTED, "redirect"),  # 3xx is a failure; redirects are never followed
        (302, Outcome.REJECTED, "redirect"),
        (400, Outcome.REJECTED, "rejected"),
        (401, Outcome.REJECTED, "rejected"),
        (404, Outcome.REJECTED, "rejected"),
        (410, Outcome.GONE, "gone"),
        (429, Outcome.RETRY, "rate_limited"),
        (500, Outcome.RETRY, "server_error"),
        (502, Outcome.RETRY, "server_error"),
        (503, Outcome.RETRY, "server_error"),
    ],
)
def test_each_status_maps_to_its_outcome(status: int, outcome: Outcome, reason: str) -> None:
    result = judge_status(status)
    assert (result.outcome, result.http_status, result.reason) == (outcome, status, reason)


def test_a_429_carries_the_wait_it_asked_for() -> None:
    assert judge_status(429, retry_after="120").retry_after == 120
    assert judge_status(429, retry_after="1.5").retry_after == 1.5
    assert judge_status(429).retry_after is None
    assert judge_status(503, retry_after="120").retry_after is None  # only a 429's wait is kept


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("30", 30), (" 7 ", 7), ("-5", 0), ("garbage", None), ("", None), (None, None), ("nan", None)],
)
def test_retry_after_parsing(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date_and_its_cap() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90
    assert parse_retry_after("99999999", now=now) == 24 * 3600


def test_no_answer_is_worth_another_try_and_names_no_more_than_the_error_type() -> None:
    timeout = network_failure(TimeoutError("http://hook.example/secret-path"))
    refused = network_failure(ConnectionRefusedError("secret-path"))
    assert (timeout.outcome, timeout.reason, timeout.detail) == (Outcome.RETRY, "timeout", "TimeoutError")
    assert (refused.outcome, refused.reason) == (Outcome.RETRY, "unreachable")
    assert "secret" not in timeout.detail + refused.detail


def test_the_kept_answer_is_at_most_one_kib_and_never_cut_mid_character() -> None:
    assert len(judge_status(500, detail="x" * 5000).detail) == 1024
    cut = truncate("é" * 600)
    assert len(cut.encode()) <= 1024 and cut == "é" * 512


def test_a_message_id_is_carried_without_changing_the_body() -> None:
    message = RenderedMessage({"a": 1}, message_id="d-1")
    assert message.body() == b'{"a":1}' and message.message_id == "d-1"
