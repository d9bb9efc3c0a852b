"""Local sandbox providers that speak Discord's and Slack's real wire formats.

Served by the console's own FastAPI app (dev, demo and tests) and called by the backend over real
HTTP. All state lives in Redis, so any worker process can serve any step of a flow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import Response

from sandbox import discord, faults, google_chat, msteams, slack, telegram, webhook, whatsapp
from sandbox.discord_api import sandbox_bot_token
from sandbox.store import RedisConnector, SandboxStore
from sandbox.web import json_response

__all__ = ["SandboxApp", "create_sandbox_router", "sandbox_bot_token"]


@dataclass(frozen=True)
class SandboxApp:
    """An OAuth client registered with a sandbox provider."""

    client_id: str
    client_secret: str
    redirect_uri: str  # the one registered redirect URI; compared exactly
    name: str = "TMS Console"  # shown on consent pages and as the Discord webhook's name
    token_rotation: bool = False  # Slack: issue expiring tokens + refresh tokens


def create_sandbox_router(*, redis_url: str, apps: dict[str, SandboxApp], canary: str) -> APIRouter:
    """Routes of the sandbox providers named in `apps`, with absolute paths under `/sandbox/`.

    Args:
        redis_url: where codes, tokens, counters and deliveries are kept (keys `sandbox:*`).
        apps: the registered app per provider key ("discord", "slack"); others get no routes.
        canary: planted in every secret the sandbox issues, so tests can grep for leaks.

    Returns:
        A router to include in the console's FastAPI app.
    """
    if not canary:
        raise ValueError("the sandbox needs a non-empty canary")
    builders = {"discord": discord.build_router, "slack": slack.build_router}
    builders["whatsapp"] = whatsapp.build_router
    builders["google_chat"] = google_chat.build_router
    builders["telegram"] = telegram.build_router
    builders["webhook"] = webhook.build_router
    builders["msteams"] = msteams.build_router
    connector = RedisConnector(redis_url)
    router = APIRouter(include_in_schema=False)
    for key, app in apps.items():
        if key not in builders:
            continue  # no sandbox for this provider yet
        store = SandboxStore(connector, key)
        router.include_router(builders[key](app, store, canary))
        router.add_api_route(f"/sandbox/{key}/_inspect", _inspector(store), methods=["GET"])
        faults.add_fault_routes(router, store, key)
    return router


def _inspector(store: SandboxStore) -> Callable[[], Awaitable[Response]]:
    async def inspect() -> Response:
        """Counters and recorded deliveries, for tests; contains no secrets."""
        return json_response(await store.snapshot())

    return inspect
