"""The install flow over real HTTP for async tests: console entry -> sandbox consent -> callback.

One `httpx.AsyncClient` serves many browsers at once: it keeps no cookies, and every request names
its browser's cookies (session, binding) in an explicit `Cookie` header.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.utils.forms import click
from tests.utils.live import sandbox_origin
from tms_console.security.session import BINDING_COOKIE, SESSION_COOKIE

T = TypeVar("T")


def async_client(base_url: str, connections: int = 100) -> httpx.AsyncClient:
    """A client that never stores cookies (so concurrent flows cannot leak into each other)."""
    return httpx.AsyncClient(
        base_url=base_url,
        follow_redirects=False,
        timeout=30,
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        # Idle connections are dropped before uvicorn's 5 s keep-alive closes them on its side: reusing
        # one the server is closing at that moment is a ReadError that says nothing about the console.
        limits=httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=2.0
        ),
    )


@dataclass(frozen=True)
class Callback:
    """Where the provider sent the browser back, and the binding cookie that browser holds."""

    url: str
    binding: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": f"{BINDING_COOKIE}={self.binding}"}


async def approved_callback(
    client: httpx.AsyncClient, kind: str, project: object, token: str, **picks: str
) -> Callback:
    """Press Install in the console as the token's agent, then Approve at the sandbox.

    `picks` override the consent form's choices (e.g. `guild_id`, `channel_id`).
    """
    start = await client.get(
        f"/api/console/integrations/{kind}/install",
        params={"project_id": str(project)},
        headers={"Cookie": f"{SESSION_COOKIE}={token}"},
    )
    assert start.status_code == 303, start.text
    binding = start.cookies[BINDING_COOKIE]
    consent = await client.get(start.headers["location"])
    assert consent.status_code == 200, consent.text
    method, action, data = click(consent.text, str(consent.url), "approve", **picks)
    answer = await client.request(method, action, data=data)
    assert answer.status_code in (302, 303), answer.text
    return Callback(answer.headers["location"], binding)


async def follow(client: httpx.AsyncClient, callback: Callback) -> httpx.Response:
    return await client.get(callback.url, headers=callback.headers)


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def outcome(response: httpx.Response) -> str:
    """ "success" for the success redirect, "error" for any handled failure; a 5xx fails the test."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code == 303:
        status = query_of(response.headers["location"]).get("status")
        assert status in ("success", "error"), response.headers["location"]
        return status
    assert 400 <= response.status_code < 500, response.status_code
    return "error"


async def sandbox_count(client: httpx.AsyncClient, kind: str, counter: str) -> int:
    answer = await client.get(f"{sandbox_origin()}/sandbox/{kind}/_inspect")
    assert answer.status_code == 200
    return int(answer.json()[counter])


async def race(*calls: Callable[[], Awaitable[T]]) -> list[T]:
    """Run the calls together; a barrier releases them at once, so the requests overlap."""
    barrier = asyncio.Barrier(len(calls))

    async def run(call: Callable[[], Awaitable[T]]) -> T:
        await barrier.wait()
        return await call()

    return list(await asyncio.gather(*(run(call) for call in calls)))


def after(seconds: float, call: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
    """`call`, started `seconds` later: staggering one side of a race explores other interleavings."""

    async def delayed() -> T:
        await asyncio.sleep(seconds)
        return await call()

    return delayed


def bearer(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}
