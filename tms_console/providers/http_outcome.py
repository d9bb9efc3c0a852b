"""What a plain HTTP answer to a delivery means for the retry policy (DELIVERY.md): pure, no I/O.

Any 2xx is delivered; a 3xx is a failure (redirects are never followed); 410 asks for the endpoint to be
removed; 429 is retried after the `Retry-After` the receiver asked for; other 4xx cannot succeed as sent;
5xx, timeouts and connection errors are worth another try.
"""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime

from tms_console.domain.messages import Outcome, SendResult

MAX_DETAIL_BYTES = 1024
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0  # a receiver cannot park a delivery longer than a day


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date); None when absent or garbage."""
    text = (value or "").strip()
    if not text:
        return None
    seconds: float | None
    try:
        seconds = float(text)
    except ValueError:
        seconds = _seconds_until(text, now or datetime.now(UTC))
    if seconds is None or not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _seconds_until(text: str, now: datetime) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - now).total_seconds()


def truncate(text: str, limit: int = MAX_DETAIL_BYTES) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, never mid-character."""
    return text.encode()[:limit].decode("utf-8", "ignore")


def judge_status(status: int, *, retry_after: str | None = None, detail: str = "") -> SendResult:
    """The outcome of an HTTP answer with `status` (and its `Retry-After` header, if any)."""
    kept = truncate(detail)
    if 200 <= status < 300:
        return SendResult(Outcome.DELIVERED, status, detail=kept)
    if status == 410:
        return SendResult(Outcome.GONE, status, reason="gone", detail=kept)
    if status == 429:
        wait = parse_retry_after(retry_after)
        return SendResult(Outcome.RETRY, status, reason="rate_limited", retry_after=wait, detail=kept)
    if status >= 500:
        return SendResult(Outcome.RETRY, status, reason="server_error", detail=kept)
    if 300 <= status < 400:
        return SendResult(Outcome.REJECTED, status, reason="redirect", detail=kept)
    return SendResult(Outcome.REJECTED, status, reason="rejected", detail=kept)


def network_failure(exc: BaseException) -> SendResult:
    """A timeout or transport failure: no answer came, so another attempt may succeed."""
    reason = "timeout" if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__ else "unreachable"
    return SendResult(Outcome.RETRY, reason=reason, detail=type(exc).__name__)
