"""Outbound clients never reuse a connection at the moment common servers close idle ones (5 s: uvicorn's
and Node's default): such a request fails unanswered. Both clients' connection pools are checked, as built."""

from __future__ import annotations

from typing import Any

import httpx

from tms_console.oauth.http import get_http_client
from tms_console.security.ssrf import webhook_client


def expiry(client: httpx.AsyncClient) -> Any:
    return client._transport._pool._keepalive_expiry  # type: ignore[attr-defined]


def test_provider_and_webhook_clients_drop_idle_connections_before_servers_do() -> None:
    get_http_client.cache_clear()
    try:
        assert 0 < expiry(get_http_client()) < 5.0
    finally:
        get_http_client.cache_clear()
    assert 0 < expiry(webhook_client()) < 5.0
