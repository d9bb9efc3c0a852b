"""SECURITY.md "OAuth state and callback", performed over real HTTP against the running API.

Every refused callback must end in the standard negative outcome: no token call at the provider, no
row created or changed, one log line with its reason code and no secret, a fixed message for the user.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import re
import secrets
import time
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import redis

from devtools.seed import demo_id
from tests.integration.test_install_flow import browser, decide, inspect, query_of, row, start
from tests.utils.identities import project_id, token_for
from tms_console.providers import registry
from tms_console.settings import get_settings

ACME, GLOBEX = "Acme", "Globex"
CALLBACK = "/api/public/integrations/{}/callback"


def rows(db) -> list[tuple]:
    return db.execute(
        "SELECT p.id, p.integration_type, p.updated_at, c.ciphertext FROM project_integrations p "
        "LEFT JOIN integration_credentials c ON c.integration_id = p.id ORDER BY p.id"
    ).fetchall()


def log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("tms_console")]


class Refusal:
    """The standard negative outcome: `snapshot()` just before the attack, then `check(answer, reason)`."""

    def __init__(self, live_url: str, db, caplog: pytest.LogCaptureFixture) -> None:
        self.live_url, self.db, self.caplog = live_url, db, caplog
        self.snapshot()

    def exchanges(self) -> dict[str, int]:
        with httpx.Client(base_url=self.live_url) as probe:
            return {kind: inspect(probe, kind)["token_exchanges"] for kind in ("discord", "slack")}

    def snapshot(self) -> None:
        self.rows, self.before = rows(self.db), self.exchanges()
        self.caplog.clear()

    def __call__(self, answer: httpx.Response, reason: str) -> None:
        if answer.status_code == 303:
            location = answer.headers["location"]
            assert query_of(location)["status"] == "error" and query_of(location)["reason"] == reason
            assert location.startswith(get_settings().public_base_url + "/projects/")
        else:
            assert answer.status_code == 400, answer.text
            assert f"data-reason='{reason}'" in answer.text
            assert "Traceback" not in answer.text
        lines = [line for line in log_lines(self.caplog) if line.startswith("oauth_callback ")]
        assert len(lines) == 1 and f"reason={reason} " in lines[0]
        assert self.exchanges() == self.before, "a refused callback must not reach the token endpoint"
        assert rows(self.db) == self.rows
        self.snapshot()


@pytest.fixture
def refused(live_url, db, caplog) -> Refusal:
    caplog.set_level(logging.INFO, logger="tms_console")
    return Refusal(live_url, db, caplog)


def approved(client: httpx.Client, kind: str, project: object) -> str:
    """Run a console install up to the provider's redirect back; returns the callback URL."""
    return decide(client, start(client, kind, project), "approve")


def with_query(url: str, query: str) -> str:
    return urlsplit(url)._replace(query=query).geturl()


def test_state_is_256_bits_url_safe_and_stored_only_as_a_digest(live_url, redis_url) -> None:
    with browser(live_url) as client:
        callback = approved(client, "discord", project_id(ACME, "Onboarding"))
    state = query_of(callback)["state"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", state)  # 32 random bytes, base64url, no padding
    assert len(base64.urlsafe_b64decode(state + "=")) == 32
    store = redis.Redis.from_url(redis_url)
    key = "oauth:state:" + hashlib.sha256(state.encode()).hexdigest()
    assert 590 < store.ttl(key) <= 600
    for name in store.scan_iter("oauth:*"):
        assert state.encode() not in name
        if store.type(name) == b"string":
            assert state.encode() not in (store.get(name) or b"")


def test_replayed_state_has_its_own_reason(live_url, refused) -> None:
    with browser(live_url) as client:
        callback = approved(client, "slack", project_id(ACME, "Onboarding"))
        assert query_of(client.get(callback).headers["location"])["status"] == "success"
        refused.snapshot()
        refused(client.get(callback), "state_reused")


def test_expired_state_is_refused(live_url, refused, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "oauth_state_ttl_seconds", 1)
    with browser(live_url) as client:
        callback = approved(client, "discord", project_id(ACME, "Billing Desk"))
        refused.snapshot()
        time.sleep(2.2)  # let Redis expire the state for real
        refused(client.get(callback), "invalid_state")


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda s: secrets.token_urlsafe(32), id="forged"),
        pytest.param(lambda s: s[:-1], id="truncated"),
        pytest.param(lambda s: s + "A", id="extended"),
        pytest.param(lambda s: "", id="empty"),
        pytest.param(lambda s: None, id="missing"),
        pytest.param(lambda s: s.upper(), id="case-changed"),
    ],
)
def test_tampered_state_is_refused(live_url, refused, mangle) -> None:
    with browser(live_url) as client:
        callback = approved(client, "discord", project_id(ACME, "Billing Desk"))
        refused.snapshot()
        params = query_of(callback)
        state = mangle(params.pop("state"))
        if state is not None:
            params["state"] = state
        refused(client.get(with_query(callback, urlencode(params))), "invalid_state")


@pytest.mark.parametrize("name", ["state", "code"])
def test_duplicated_parameters_are_refused_without_consuming_the_state(live_url, refused, db, name) -> None:
    project = project_id(ACME, "Billing Desk")
    with browser(live_url) as client:
        callback = approved(client, "discord", project)
        refused.snapshot()
        params = list(query_of(callback).items())
        doubled = urlencode([*params, (name, dict(params)[name])])
        refused(client.get(with_query(callback, doubled)), "duplicate_parameter")
        # The genuine callback still works: the attempt did not burn the user's state.
        done = client.get(callback)
        assert query_of(done.headers["location"])["status"] == "success"
    db.execute(
        "DELETE FROM project_integrations WHERE project_id = %s AND integration_type = 'discord'", (project,)
    )


def test_state_minted_for_another_provider_is_refused(live_url, refused) -> None:
    with browser(live_url) as client:
        callback = approved(client, "slack", project_id(ACME, "Onboarding"))
        refused.snapshot()
        forwarded = callback.replace(CALLBACK.format("slack"), CALLBACK.format("discord"))
        refused(client.get(forwarded), "type_mismatch")


def test_state_minted_for_another_tenant_is_refused(live_url, refused) -> None:
    """Globex's agent mints a state through the API and lures an Acme agent into completing it."""
    globex_project = project_id(GLOBEX, "Helpdesk")
    with httpx.Client(
        base_url=live_url, headers={"Authorization": f"Bearer {token_for(GLOBEX, 'gary@globex.example')}"}
    ) as api:
        url = api.get(
            f"/v1/tenants/{demo_id(GLOBEX)}/projects/{globex_project}/integrations/discord/install"
        ).json()["url"]
        consent = api.get(url)
        callback = decide(api, consent, "approve")
    refused.snapshot()
    with browser(live_url, ACME, "alice@acme.example") as victim:
        refused(victim.get(callback), "wrong_console_user")


def test_callback_without_the_browser_binding_is_refused(live_url, refused) -> None:
    with browser(live_url) as client:
        callback = approved(client, "discord", project_id(ACME, "Onboarding"))
        client.cookies.delete("tms_oauth_binding")
        refused.snapshot()
        refused(client.get(callback), "invalid_browser")
    with browser(live_url) as client:
        callback = approved(client, "discord", project_id(ACME, "Onboarding"))
        client.cookies.set("tms_oauth_binding", secrets.token_urlsafe(32), domain="127.0.0.1")
        refused.snapshot()
        refused(client.get(callback), "invalid_browser")


def test_binding_cookie_is_httponly_and_scoped_to_the_callback(live_url) -> None:
    with browser(live_url) as client:
        answer = client.get(
            "/api/console/integrations/discord/install",
            params={"project_id": str(project_id(ACME, "Onboarding"))},
        )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "path=/api/public/integrations/" in cookie and "samesite=lax" in cookie


def test_user_cancel_is_friendly_consumes_the_state_and_never_echoes_provider_text(live_url, refused) -> None:
    hostile = "<script>alert(1)</script> \u202e denied"
    with browser(live_url) as client:
        callback = approved(client, "discord", project_id(ACME, "Onboarding"))
        params = query_of(callback)
        cancel = {"error": "access_denied", "error_description": hostile, "state": params["state"]}
        refused.snapshot()
        answer = client.get(with_query(callback, urlencode(cancel)))
        refused(answer, "access_denied")
        page = client.get(answer.headers["location"])
        assert hostile not in page.text and "<script>alert(1)" not in answer.text
        refused(client.get(with_query(callback, urlencode(cancel))), "state_reused")


def test_redirect_uri_is_a_constant_whatever_the_request_headers(live_url) -> None:
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    with browser(live_url) as client:
        answer = client.get(
            "/api/console/integrations/discord/install",
            params={"project_id": str(project_id(ACME, "Onboarding"))},
            headers=forged,
        )
    authorize = query_of(answer.headers["location"])
    assert authorize["redirect_uri"] == get_settings().public_base_url + CALLBACK.format("discord")
    assert "evil.example" not in answer.headers["location"]


def test_return_to_and_other_callback_parameters_are_ignored(live_url, db) -> None:
    project, elsewhere = project_id(ACME, "Onboarding"), project_id(GLOBEX, "Helpdesk")
    untouched = row(db, "slack", elsewhere)
    with browser(live_url) as client:
        callback = approved(client, "slack", project)
        params = query_of(callback) | {
            "return_to": "https://evil.example/phish",
            "redirect_uri": "https://evil.example/",
            "project_id": str(elsewhere),
            "next": "//evil.example",
        }
        done = client.get(with_query(callback, urlencode(params)))
    location = done.headers["location"]
    base = get_settings().public_base_url
    assert location == f"{base}/projects/{project}/integrations?status=success&integration=slack"
    assert row(db, "slack", project) is not None
    assert row(db, "slack", elsewhere) == untouched


def test_pkce_uses_s256_with_a_fresh_verifier_never_logged(live_url, redis_url, caplog, monkeypatch) -> None:
    """Discord and Slack do not take PKCE (PROVIDERS.md); the mechanism is proven on a PKCE variant."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setitem(registry.PROVIDERS, "discord", dataclasses.replace(registry.DISCORD, pkce=True))
    store = redis.Redis.from_url(redis_url)
    seen: list[tuple[str, str]] = []
    with browser(live_url) as client:
        for _ in range(2):
            answer = client.get(
                "/api/console/integrations/discord/install",
                params={"project_id": str(project_id(ACME, "Onboarding"))},
            )
            authorize = query_of(answer.headers["location"])
            assert authorize["code_challenge_method"] == "S256"
            key = "oauth:state:" + hashlib.sha256(authorize["state"].encode()).hexdigest()
            verifier = json.loads(store.get(key))["pkce_verifier"]
            expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
            assert authorize["code_challenge"] == expected.decode()
            assert 43 <= len(verifier) <= 128
            seen.append((verifier, authorize["code_challenge"]))
    assert seen[0][0] != seen[1][0] and seen[0][1] != seen[1][1]
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert all(verifier not in text for verifier, _ in seen)
