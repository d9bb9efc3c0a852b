"""Each provider's health probe against its sandbox over real HTTP: a working install passes; the
provider's own answer to a revoked credential (or removed bot or webhook) asks for a reconnect with a
reason an agent can act on; an outage, a 429 or an answer that is not the provider's fails for now; no
result carries a secret."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.sandbox import test_telegram_sandbox as telegram
from tests.integration.send_setups import INSTALLERS, TELEGRAM_CHAT, Installed, http, origin
from tms_console.domain.messages import Outcome, SendResult
from tms_console.providers.registry import HOOKS

__all__ = ["http", "origin"]  # the sandbox fixtures, shared from send_setups

PROVIDERS = sorted(INSTALLERS)
# What each provider's `auth_error` fault (its answer to a dead credential) makes of the check.
REFUSED = {
    "slack": (200, "invalid_auth"),
    "discord": (404, "webhook_deleted"),
    "msteams": (401, "access_revoked"),
    "google_chat": (401, "access_revoked"),
    "telegram": (403, "bot_removed"),
    "whatsapp": (401, "access_revoked"),
}


async def probe(provider: str, setup: Installed) -> SendResult | None:
    return await HOOKS[provider].probe(setup.api, setup.bundle, setup.meta)


async def probe_with(http: httpx.AsyncClient, provider: str, setup: Installed, **fault: object) -> SendResult:
    assert (await http.put(f"/sandbox/{provider}/_fault", json=fault | {"target": "api"})).status_code == 200
    try:
        result = await probe(provider, setup)
    finally:
        await http.delete(f"/sandbox/{provider}/_fault")
    assert result is not None
    assert all(str(value) not in f"{result.reason} {result.detail}" for value in setup.bundle.values())
    return result


def test_every_provider_but_the_webhook_probes() -> None:
    assert sorted(key for key, hooks in HOOKS.items() if hooks.probes) == PROVIDERS


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_working_install_passes(http: httpx.AsyncClient, origin: str, provider: str) -> None:
    setup = await INSTALLERS[provider](http, origin)
    result = await probe(provider, setup)
    assert result is not None and result.outcome is Outcome.DELIVERED, result
    assert result.http_status == 200


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_dead_credential_asks_for_a_reconnect(
    http: httpx.AsyncClient, origin: str, provider: str
) -> None:
    setup = await INSTALLERS[provider](http, origin)
    result = await probe_with(http, provider, setup, mode="auth_error")
    assert (result.outcome, result.http_status, result.reason) == (Outcome.AUTH_FAILED, *REFUSED[provider])


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "fault", [{"mode": "status", "status": 503}, {"mode": "rate_limited"}, {"mode": "html"}]
)
async def test_trouble_fails_for_now(
    http: httpx.AsyncClient, origin: str, provider: str, fault: dict[str, object]
) -> None:
    setup = await INSTALLERS[provider](http, origin)
    result = await probe_with(http, provider, setup, **fault)
    assert result.outcome in (Outcome.RETRY, Outcome.REJECTED), result
    assert result.outcome is Outcome.RETRY or provider == "whatsapp"  # Meta throttles with a 400


async def test_a_deleted_discord_webhook_is_found(http: httpx.AsyncClient, origin: str) -> None:
    setup = await INSTALLERS["discord"](http, origin)
    path = f"/sandbox/discord/api/webhooks/{setup.meta['webhook_id']}/{setup.bundle['webhook_token']}"
    assert (await http.delete(path)).status_code == 204
    result = await probe("discord", setup)
    assert result is not None and (result.outcome, result.reason) == (Outcome.AUTH_FAILED, "webhook_deleted")


async def test_a_telegram_bot_kicked_from_its_chat_is_found(http: httpx.AsyncClient, origin: str) -> None:
    setup = await INSTALLERS["telegram"](http, origin)
    await telegram.add_to_chat(http, setup.bundle["bot_token"], TELEGRAM_CHAT, status="kicked")
    result = await probe("telegram", setup)
    assert result is not None and (result.outcome, result.reason) == (Outcome.AUTH_FAILED, "bot_removed")


async def test_a_revoked_slack_token_is_found(http: httpx.AsyncClient, origin: str) -> None:
    setup = await INSTALLERS["slack"](http, origin)
    await setup.api.call("POST", "/auth.revoke", bearer=setup.bundle["access_token"])
    result = await probe("slack", setup)
    assert result is not None and result.outcome is Outcome.AUTH_FAILED
    assert result.reason in ("invalid_auth", "token_revoked")


async def test_nothing_to_check_before_a_channel_or_space_is_picked(
    http: httpx.AsyncClient, origin: str
) -> None:
    for provider in ("msteams", "google_chat"):
        setup = await INSTALLERS[provider](http, origin)
        assert await HOOKS[provider].probe(setup.api, setup.bundle, {}) is None
