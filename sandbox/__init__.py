"""Local stand-ins for every provider, speaking each one's real wire format (dev and tests only).

Not part of the product: `tms_console` never imports this package. The sandbox is its own ASGI app
(`create_app()`, served by `python -m sandbox`, by `make run` beside the console, and by the tests),
on its own origin, and the console reaches it exactly as it reaches a real provider: through the
provider URL settings that `provider_env()` lists. All state lives in Redis, so several processes can
serve one sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response

from sandbox import (
    app_events,
    channel_pages,
    discord,
    faults,
    google_chat,
    msteams,
    slack,
    telegram,
    webhook,
    whatsapp,
)
from sandbox.discord_api import sandbox_bot_token
from sandbox.inbox import Inbox
from sandbox.store import RedisConnector, SandboxStore
from sandbox.web import json_response
from sandbox.whatsapp_fixtures import CONFIG_ID as WHATSAPP_CONFIG_ID

__all__ = [
    "SandboxApp",
    "create_app",
    "create_sandbox_router",
    "credentials",
    "provider_env",
    "sandbox_bot_token",
]

# Where each stand-in serves what the real provider serves at its authorize URL, API base and second API
# host, relative to the sandbox's base URL (the console's `<P>_AUTHORIZE_URL`, `<P>_API_BASE`,
# `<P>_GRAPH_API_BASE`).
ENDPOINTS: dict[str, dict[str, str]] = {
    "discord": {"AUTHORIZE_URL": "/sandbox/discord/oauth2/authorize", "API_BASE": "/sandbox/discord/api"},
    "slack": {"AUTHORIZE_URL": "/sandbox/slack/oauth/v2/authorize", "API_BASE": "/sandbox/slack/api"},
    "msteams": {
        "AUTHORIZE_URL": "/sandbox/msteams/login/organizations/oauth2/v2.0/authorize",
        "API_BASE": "/sandbox/msteams/login/organizations/oauth2/v2.0",
        "GRAPH_API_BASE": "/sandbox/msteams/graph/v1.0",
    },
    "google_chat": {
        "AUTHORIZE_URL": "/sandbox/google_chat/accounts/o/oauth2/v2/auth",
        "API_BASE": "/sandbox/google_chat/oauth2",
        "GRAPH_API_BASE": "/sandbox/google_chat/chat/v1",
    },
    "telegram": {"API_BASE": "/sandbox/telegram"},
    "whatsapp": {"AUTHORIZE_URL": "/sandbox/whatsapp/dialog", "API_BASE": "/sandbox/whatsapp/graph/v21.0"},
}
# Providers with client credentials, and the variable names the console reads them from.
CLIENT_VARS = {key: ("CLIENT_ID", "CLIENT_SECRET") for key in ("discord", "slack", "msteams", "google_chat")}
CLIENT_VARS["whatsapp"] = ("APP_ID", "APP_SECRET")
PROVIDERS = (*ENDPOINTS, "webhook")


def credentials(key: str) -> tuple[str, str]:
    """The client id and secret of the console's app registered with the stand-in for `key`."""
    return f"sandbox-{key}-client", f"sandbox-{key}-secret"


def provider_env(base_url: str, canary: str) -> dict[str, dict[str, str]]:
    """Per provider key, the console's environment variables that point it at this sandbox.

    Args:
        base_url: the sandbox's origin as the console reaches it (`http://127.0.0.1:3001`).
        canary: the same canary the sandbox app was created with (it is part of the Discord bot token).

    Returns:
        `{"discord": {"DISCORD_CLIENT_ID": ..., "DISCORD_AUTHORIZE_URL": ..., ...}, ...}`; a launcher applies
        the entries of the providers that have no credentials of their own.
    """
    env: dict[str, dict[str, str]] = {}
    for key, paths in ENDPOINTS.items():
        prefix = key.upper() + "_"
        values = {prefix + name: base_url.rstrip("/") + path for name, path in paths.items()}
        if key in CLIENT_VARS:
            id_var, secret_var = CLIENT_VARS[key]
            values[prefix + id_var], values[prefix + secret_var] = credentials(key)
        env[key] = values
    env["discord"]["DISCORD_BOT_TOKEN"] = sandbox_bot_token(canary)
    # What verifies the events the sandbox providers send (sandbox/app_events.py).
    env["discord"]["DISCORD_PUBLIC_KEY"] = app_events.discord_public_key()
    env["slack"]["SLACK_SIGNING_SECRET"] = app_events.SLACK_SIGNING_SECRET
    env["whatsapp"]["WHATSAPP_VERIFY_TOKEN"] = app_events.WHATSAPP_VERIFY_TOKEN
    env["whatsapp"]["WHATSAPP_CONFIG_ID"] = WHATSAPP_CONFIG_ID
    return env


def app_from_env() -> FastAPI:
    """`create_app()` from REDIS_URL, SANDBOX_CONSOLE_URL and SANDBOX_CANARY (for `uvicorn --factory`)."""
    return create_app(
        redis_url=os.environ["REDIS_URL"],
        console_url=os.environ["SANDBOX_CONSOLE_URL"],
        canary=os.environ.get("SANDBOX_CANARY", "sbx"),
    )


def create_app(*, redis_url: str, console_url: str, canary: str) -> FastAPI:
    """The sandbox as its own ASGI app: every provider's stand-in, registered for one console.

    Args:
        redis_url: where codes, tokens, counters and deliveries are kept (keys `sandbox:*`).
        console_url: the console's PUBLIC_BASE_URL; each app's one registered redirect URI is built from it.
        canary: planted in every secret the sandbox issues, so tests can grep for leaks.
    """
    apps = {}
    for key in PROVIDERS:
        client_id, secret = credentials(key)
        redirect_uri = f"{console_url.rstrip('/')}/api/public/integrations/{key}/callback"
        apps[key] = SandboxApp(client_id, secret, redirect_uri)
    app = FastAPI(title="TMS console sandbox providers", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(create_sandbox_router(redis_url=redis_url, apps=apps, canary=canary))
    return app


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
    inboxes: dict[str, Inbox] = {}
    for key, app in apps.items():
        if key not in builders:
            continue  # no sandbox for this provider yet
        store = SandboxStore(connector, key)
        inboxes[key] = Inbox(store)
        router.include_router(builders[key](app, store, canary))
        router.add_api_route(f"/sandbox/{key}/_inspect", _inspector(store), methods=["GET"])
        faults.add_fault_routes(router, store, key)
    channel_pages.add_routes(router, inboxes)
    app_events.add_routes(router)
    return router


def _inspector(store: SandboxStore) -> Callable[[], Awaitable[Response]]:
    async def inspect() -> Response:
        """Counters, recorded deliveries and each channel's messages, for tests; contains no secrets."""
        return json_response(await store.snapshot() | {"channels": await Inbox(store).snapshot()})

    return inspect
