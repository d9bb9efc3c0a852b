"""The one HTTP client for provider calls: explicit timeouts, bounded bodies, mapped failures.

No retries: authorization codes are single-use, so a blind retry can only turn one failure into
another. URLs are never logged (`tms_console.logs` redacts httpx's own URL logging).
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import logging
import math
from datetime import UTC, datetime
from typing import Any

import httpx

from tms_console.domain.errors import ProviderDown, ProviderError, RateLimited
from tms_console.domain.reasons import Reason
from tms_console.providers.config import ResolvedProvider
from tms_console.security.ssrf import KEEPALIVE_EXPIRY
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.provider_http")
MAX_BODY_BYTES = 1_000_000


@functools.cache
def get_http_client() -> httpx.AsyncClient:
    timeout = get_settings().provider_timeout_seconds
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        follow_redirects=False,
        headers={"User-Agent": "tms-console/0.1"},
        # Not more kept alive: httpcore 1.0 scans its whole pool (an idle check with a poll per connection,
        # and a count of all connections per idle one) on every request and release, so 100 kept
        # connections under 50 concurrent callbacks cost more CPU than reconnecting (issue 12, fig1 A/B).
        limits=httpx.Limits(
            max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY
        ),
    )


async def request(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    """Send one request; return (status, parsed JSON or text). Transport trouble -> ProviderError.

    httpx's read timeout restarts with every chunk, so a provider dripping one byte at a time would
    never time out: the whole request and read share one deadline.
    """
    client = get_http_client()
    try:
        async with asyncio.timeout(get_settings().provider_timeout_seconds):
            async with client.stream(method, url, **kwargs) as response:
                body = await _read_bounded(response)
    except (TimeoutError, httpx.TimeoutException):
        raise ProviderError(Reason.PROVIDER_UNAVAILABLE, "provider timed out") from None
    except httpx.HTTPError as exc:
        raise ProviderError(Reason.PROVIDER_UNAVAILABLE, type(exc).__name__) from None
    if response.status_code == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        logger.warning("provider rate limited status=429 retry_after=%s", retry_after)
        raise RateLimited(retry_after, _parse_quietly(response, body))
    if response.status_code >= 500:
        raise ProviderDown(response.status_code)
    return response.status_code, _parse(response, body)


async def _read_bounded(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ProviderError(Reason.BAD_RESPONSE, "provider response too large")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds (also as a float, as Graph and
    Discord send), or an HTTP date (RFC 9110 §10.2.3). Missing or unreadable -> None; never raises."""
    text = (value or "").strip()
    if not text or len(text) > 100:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now or datetime.now(UTC))
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" dates parse naive; RFC 9110 dates are GMT anyway
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _parse(response: httpx.Response, body: bytes) -> Any:
    if not body:
        return None
    if "json" not in response.headers.get("content-type", ""):
        return body.decode("utf-8", "replace")
    try:
        return json.loads(body)
    except ValueError:
        raise ProviderError(Reason.BAD_RESPONSE, "provider sent malformed JSON") from None


def _parse_quietly(response: httpx.Response, body: bytes) -> Any:
    """A 429's body for its wait figure; unreadable is None (the header still counts)."""
    try:
        return _parse(response, body)
    except ProviderError:
        return None


def expect_json_object(status: int, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ProviderError(Reason.BAD_RESPONSE, f"expected a JSON object, got status {status}")
    return body


async def close_http_client() -> None:
    if get_http_client.cache_info().currsize:
        await get_http_client().aclose()
    get_http_client.cache_clear()


class ProviderApi:
    """The narrow facade hooks receive (`domain.hooks.ProviderHttp`): authenticated JSON calls against
    one provider's API hosts."""

    def __init__(self, api_base: str, *, bot_token: str | None = None, graph_base: str = "") -> None:
        self._base = api_base
        self._graph = graph_base
        self._bot_token = bot_token

    @property
    def has_bot(self) -> bool:
        return bool(self._bot_token)

    @property
    def graph_base(self) -> str:
        return self._graph

    async def call(self, method: str, path: str, *, allow_errors: bool = False, **options: Any) -> Any:
        """One JSON call (options as for `call_raw`); a 4xx raises ProviderError unless `allow_errors`."""
        status, body = await self.call_raw(method, path, **options)
        if status >= 400 and not allow_errors:
            raise ProviderError(Reason.PROVIDER_ERROR, f"provider answered {status} to {path}")
        if isinstance(body, str):  # an HTML error page with 200 is not an API answer
            raise ProviderError(Reason.BAD_RESPONSE, f"provider sent no JSON for {path}")
        return body

    async def call_raw(
        self,
        method: str,
        path: str,
        *,
        bearer: str | None = None,
        as_bot: bool = False,
        data: dict[str, str] | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
        graph: bool = False,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        if as_bot and self._bot_token:
            headers = {"Authorization": f"Bot {self._bot_token}"}
        base = self._graph if graph else self._base
        extra: dict[str, Any] = {"params": params} if params else {}
        if json is not None:
            extra["json"] = json
        return await request(method, base + path, headers=headers, data=data, **extra)


def api_for(provider: ResolvedProvider) -> ProviderApi:
    """The facade a provider's hooks receive: its API hosts, with the deployment's bot token if any."""
    bot = provider.bot_token.get_secret_value() if provider.bot_token else None
    return ProviderApi(provider.api_base, bot_token=bot, graph_base=provider.graph_api_base)
