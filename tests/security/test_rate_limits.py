"""Rate limits on the public callback and on install-URL issuance: per client IP (through the configured
number of trusted proxies) and per user, answering 429 with Retry-After."""

from __future__ import annotations

import ipaddress
import random
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from devtools.seed import demo_id
from tests.integration.test_install_flow import browser, decide, query_of, start
from tests.utils.identities import project_id, token_for
from tms_console.security.identity import Identity, issue_token
from tms_console.settings import get_settings

ACME = "Acme"
CALLBACK = "/api/public/integrations/discord/callback"


@pytest.fixture
def limits(live_url, redis_url, monkeypatch) -> Iterator[None]:
    """Small limits behind one trusted proxy, on the running server's own settings, from zero."""
    store = redis.Redis.from_url(redis_url)
    for key in store.scan_iter("ratelimit:*"):
        store.delete(key)
    settings = get_settings()
    monkeypatch.setattr(settings, "callback_rate_limit", 3)
    monkeypatch.setattr(settings, "install_rate_limit", 2)
    monkeypatch.setattr(settings, "trusted_proxy_count", 1)
    yield


def random_ip() -> str:
    return str(ipaddress.IPv4Address(0x0A000000 + random.getrandbits(24)))


def stranger_token() -> str:
    """A valid Acme agent token for a user of its own (so per-user limits never add up)."""
    user = Identity(str(uuid.uuid4()), "Stranger", demo_id(ACME), "agent")
    return issue_token(user, get_settings())


def via_proxy(ip: str, spoofed: str = "") -> dict[str, str]:
    """What our one trusted proxy sends: whatever the client claimed, then the address it saw."""
    return {"X-Forwarded-For": f"{spoofed}, {ip}" if spoofed else ip}


def assert_limited(answer: httpx.Response) -> None:
    assert answer.status_code == 429, answer.text
    assert 1 <= int(answer.headers["retry-after"]) <= 61


def test_callback_is_limited_per_client_ip(live_url, limits) -> None:
    attacker, bystander = random_ip(), random_ip()
    with httpx.Client(base_url=live_url) as client:
        for _ in range(3):
            assert client.get(CALLBACK, params={"state": "x"}, headers=via_proxy(attacker)).status_code == 400
        limited = client.get(CALLBACK, params={"state": "x"}, headers=via_proxy(attacker))
        assert_limited(limited)
        assert "data-reason='too_many_requests'" in limited.text
        # Spoofing the client-controlled part of X-Forwarded-For does not escape the limit ...
        assert_limited(client.get(CALLBACK, headers=via_proxy(attacker, spoofed=random_ip())))
        # ... and another client is not affected.
        assert client.get(CALLBACK, params={"state": "x"}, headers=via_proxy(bystander)).status_code == 400


def test_a_limited_callback_leaves_the_state_for_a_retry(live_url, limits) -> None:
    ip = random_ip()
    with browser(live_url) as client, httpx.Client(base_url=live_url) as neighbour:
        callback = decide(client, start(client, "slack", project_id(ACME, "Onboarding")), "approve")
        for _ in range(3):  # someone else behind the same address uses up its allowance
            neighbour.get(CALLBACK, params={"state": "x"}, headers=via_proxy(ip))
        assert_limited(client.get(callback, headers=via_proxy(ip)))
        done = client.get(callback, headers=via_proxy(random_ip()))
        assert query_of(done.headers["location"])["status"] == "success"


def test_callback_is_limited_per_signed_in_user_across_addresses(live_url, limits) -> None:
    with browser(live_url, "Globex", "greta@globex.example") as client:
        for _ in range(3):
            client.get(CALLBACK, params={"state": "x"}, headers=via_proxy(random_ip()))
        assert_limited(client.get(CALLBACK, params={"state": "x"}, headers=via_proxy(random_ip())))


def install_url(client: httpx.Client, token: str, ip: str) -> httpx.Response:
    project = project_id(ACME, "Billing Desk")
    return client.get(
        f"/v1/tenants/{demo_id(ACME)}/projects/{project}/integrations/discord/install",
        headers={"Authorization": f"Bearer {token}"} | via_proxy(ip),
    )


def test_install_url_issuance_is_limited_per_user(live_url, limits) -> None:
    token = token_for(ACME, "ada@acme.example")
    with httpx.Client(base_url=live_url) as client:
        for _ in range(2):
            assert install_url(client, token, random_ip()).status_code == 200
        limited = install_url(client, token, random_ip())
        assert_limited(limited)
        assert limited.json() == {"detail": "too many requests", "reason": "too_many_requests"}
        assert "url" not in limited.text


def test_install_url_issuance_is_limited_per_client_ip(live_url, limits) -> None:
    ip = random_ip()
    with httpx.Client(base_url=live_url) as client:
        for _ in range(2):
            assert install_url(client, stranger_token(), ip).status_code == 200
        assert_limited(install_url(client, stranger_token(), ip))


def test_console_install_route_is_limited(live_url, limits) -> None:
    ip = random_ip()
    params = {"project_id": str(project_id(ACME, "Onboarding"))}
    route = "/api/console/integrations/slack/install"
    with httpx.Client(base_url=live_url, cookies={"tms_session": stranger_token()}) as client:
        for _ in range(2):
            assert client.get(route, params=params, headers=via_proxy(ip)).status_code == 303
        limited = client.get(route, params=params, headers=via_proxy(ip))
        assert_limited(limited)
        assert "set-cookie" not in limited.headers  # no binding, no state: nothing was started


def test_forwarded_header_is_ignored_without_trusted_proxies(live_url, limits, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "trusted_proxy_count", 0)
    with httpx.Client(base_url=live_url) as client:
        # Every request claims a new address; without trusted proxies they all count for the peer.
        answers = [install_url(client, stranger_token(), random_ip()).status_code for _ in range(3)]
    assert answers[-1] == 429, answers
