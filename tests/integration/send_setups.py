"""Real installs on the sandbox providers for the send_message tests: per provider, the facade the hooks get
(`ProviderApi` over real HTTP), the decrypted bundle and meta an install stores, and the inbox to read.

Each install goes through the sandbox's own authorization server or signup, as the sandbox tests do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sandbox import SandboxApp, create_sandbox_router, sandbox_bot_token
from tests.integration.sandbox import test_discord_sandbox as discord
from tests.integration.sandbox import test_google_chat_sandbox as google_chat
from tests.integration.sandbox import test_msteams_sandbox as msteams
from tests.integration.sandbox import test_slack_sandbox as slack
from tests.integration.sandbox import test_telegram_sandbox as telegram
from tests.integration.sandbox import test_whatsapp_sandbox as whatsapp
from tests.utils.live import free_port, serve_app
from tms_console.oauth.http import ProviderApi

CANARY = "CANARYsend4b2c"
TELEGRAM_CHAT = {"id": -1001900000099, "title": "Send <Desk>", "type": "supergroup"}
WHATSAPP_TO = "15551230099"
TEAMS_CHANNEL = msteams.SUPPORT.channels[1]
SPACE = "spaces/AAQAsupport"
SLACK_ALERTS = "C0SBX0001"  # the sandbox bot is a member of #support-alerts


@dataclass(frozen=True)
class Installed:
    """What the delivery step would hand `send_message`, and where the sandbox keeps what arrived."""

    api: ProviderApi
    bundle: dict[str, Any]
    meta: dict[str, Any]
    inbox: str


def sandbox_app(redis_url: str) -> FastAPI:
    """Every chat provider's sandbox, registered for the apps the sandbox tests use."""
    redirect = "http://console.test/api/public/integrations/telegram/callback"
    apps = {
        "slack": slack.APP,
        "discord": discord.APP,
        "msteams": msteams.APP,
        "google_chat": google_chat.APP,
        "telegram": SandboxApp("telegram", "", redirect),
        "whatsapp": whatsapp.APP,
    }
    app = FastAPI()
    app.include_router(create_sandbox_router(redis_url=redis_url, apps=apps, canary=CANARY))
    return app


@pytest.fixture(scope="module")
def origin(redis_url: str) -> Iterator[str]:
    """`sandbox_app` served over real HTTP for the module that imports this fixture; its origin."""
    with serve_app(sandbox_app(redis_url), free_port()) as url:
        yield url


@pytest.fixture(scope="module")
async def http(origin: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `origin`, as the installers and the tests' own sandbox calls use it."""
    async with httpx.AsyncClient(base_url=origin) as client:
        yield client


async def install_slack(http: httpx.AsyncClient, origin: str) -> Installed:
    token = await slack.install(http)
    api = ProviderApi(f"{origin}/sandbox/slack/api")
    meta = {"channel_id": token["incoming_webhook"]["channel_id"], "target_id": SLACK_ALERTS}
    return Installed(api, {"access_token": token["access_token"]}, meta, SLACK_ALERTS)


async def install_discord(http: httpx.AsyncClient, origin: str) -> Installed:
    webhook = (await discord.install(http))["webhook"]
    api = ProviderApi(f"{origin}/sandbox/discord/api", bot_token=sandbox_bot_token(CANARY))
    meta = {"webhook_id": webhook["id"], "channel_id": webhook["channel_id"], "guild_id": webhook["guild_id"]}
    return Installed(api, {"webhook_token": webhook["token"]}, meta, webhook["channel_id"])


async def install_msteams(http: httpx.AsyncClient, origin: str) -> Installed:
    token = await msteams.install(http)
    api = ProviderApi(f"{origin}/sandbox/msteams/login", graph_base=f"{origin}{msteams.GRAPH}")
    meta = {"team_id": msteams.SUPPORT.id, "channel_id": TEAMS_CHANNEL.id}
    return Installed(
        api, {"access_token": token["access_token"]}, meta, f"{msteams.SUPPORT.id}:{TEAMS_CHANNEL.id}"
    )


async def install_google_chat(http: httpx.AsyncClient, origin: str) -> Installed:
    token = await google_chat.install(http)
    base = f"{origin}{google_chat.BASE}"
    api = ProviderApi(base, graph_base=f"{base}/chat/v1")
    inbox = SPACE.removeprefix("spaces/")  # the sandbox files Chat messages under the space id
    return Installed(api, {"access_token": token["access_token"]}, {"target_id": SPACE}, inbox)


async def install_telegram(http: httpx.AsyncClient, origin: str) -> Installed:
    token = await telegram.new_bot(http)
    await telegram.add_to_chat(http, token, TELEGRAM_CHAT)
    api = ProviderApi(f"{origin}/sandbox/telegram")
    chat = str(TELEGRAM_CHAT["id"])
    return Installed(api, {"bot_token": token}, {"target_id": chat}, chat)


async def install_whatsapp(http: httpx.AsyncClient, origin: str) -> Installed:
    token, ids = await whatsapp.install(http)
    api = ProviderApi(f"{origin}{whatsapp.GRAPH}")
    phone = ids["phone_number_id"]
    meta = {"phone_number_id": phone, "recipient": f"+{WHATSAPP_TO}"}
    return Installed(api, {"access_token": token}, meta, f"{phone}:{WHATSAPP_TO}")


INSTALLERS: dict[str, Callable[[httpx.AsyncClient, str], Awaitable[Installed]]] = {
    "slack": install_slack,
    "discord": install_discord,
    "msteams": install_msteams,
    "google_chat": install_google_chat,
    "telegram": install_telegram,
    "whatsapp": install_whatsapp,
}
