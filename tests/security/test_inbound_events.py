"""The inbound endpoints under attack, over real HTTP: unsigned, badly signed, stale, replayed, oversized,
and naming ids that are not the install's. Every refusal changes nothing (status, reason, meta, audit)
and gets the provider-documented answer: Slack, Discord and Meta 401 for a bad signature (Meta 403 for a
wrong verify token); a Telegram install URL the same 404 as an unknown one; a repeat the normal answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg.types.json import Jsonb

from sandbox import app_events
from tests.integration.test_connect_flows import add_to_chat, base, new_bot
from tests.integration.test_install_flow import row
from tests.utils.events import add_integration, new_place
from tests.utils.health import bundle_of
from tests.utils.identities import project_id, token_for
from tests.utils.provider_events import (
    DISCORD_APP,
    SLACK_APP,
    WHATSAPP_SECRET,
    discord_body,
    post,
    slack_body,
    whatsapp_body,
)

Tamper = Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]]
OVERSIZED = 300 * 1024


def planted(db: psycopg.Connection, kind: str, meta: dict[str, str]) -> uuid.UUID:
    """An active install of a tenant of its own, with the provider ids an event names."""
    integration = add_integration(db, new_place(db), kind)
    db.execute("UPDATE project_integrations SET meta = %s WHERE id = %s", (Jsonb(meta), integration))
    return integration


def state(db: psycopg.Connection, integration: uuid.UUID) -> tuple:
    found = db.execute(
        "SELECT status, status_reason, meta, updated_at FROM project_integrations WHERE id = %s",
        (integration,),
    ).fetchone()
    audit = db.execute(
        "SELECT count(*) FROM integration_events WHERE integration_id = %s", (integration,)
    ).fetchone()
    return (found, audit)


def reactivate(db: psycopg.Connection, integration: uuid.UUID) -> None:
    db.execute(
        "UPDATE project_integrations SET status = 'active', status_reason = NULL WHERE id = %s",
        (integration,),
    )


def slack_signed(team: str, *, ts: int | None = None, app: str = SLACK_APP) -> tuple[bytes, dict[str, str]]:
    body = slack_body({"type": "app_uninstalled"}, team=team, app=app)
    return body, app_events.slack_headers(body, app_events.now() if ts is None else ts)


def discord_signed(
    user: str, *, ts: int | None = None, app: str = DISCORD_APP
) -> tuple[bytes, dict[str, str]]:
    body = discord_body(user, app=app)
    return body, app_events.discord_headers(body, app_events.now() if ts is None else ts)


def whatsapp_signed(waba: str, *, sent: int | None = None) -> tuple[bytes, dict[str, str]]:
    body = whatsapp_body(waba, sent=sent)
    return body, app_events.meta_headers(body, WHATSAPP_SECRET)


def without(*names: str) -> Tamper:
    return lambda body, headers: (body, {k: v for k, v in headers.items() if k not in names})


def flipped(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body.replace(b'"', b' "', 1), headers  # one byte more, same meaning: the signature no longer fits


def test_slack_refusals_change_nothing(live_url: str, db: psycopg.Connection) -> None:
    team = "T0SEC" + uuid.uuid4().hex[:8].upper()
    integration = planted(db, "slack", {"team_id": team, "app_id": SLACK_APP})
    before = state(db, integration)
    other_key = {
        "X-Slack-Signature": app_events.slack_headers(b"", 0, "another-signing-secret")["X-Slack-Signature"]
    }
    cases: list[tuple[tuple[bytes, dict[str, str]], Tamper]] = [
        (slack_signed(team), without("X-Slack-Signature", "X-Slack-Request-Timestamp")),
        (slack_signed(team), without("X-Slack-Signature")),
        (slack_signed(team), without("X-Slack-Request-Timestamp")),
        (slack_signed(team), flipped),
        (slack_signed(team), lambda b, h: (b, h | other_key)),
        (slack_signed(team, ts=app_events.now() - 301), lambda b, h: (b, h)),  # stale, correctly signed
        (slack_signed(team, ts=app_events.now() + 600), lambda b, h: (b, h)),  # from the future
    ]
    for (body, headers), tamper in cases:
        answer = post(live_url, "slack", *tamper(body, headers))
        assert answer.status_code == 401 and answer.json() == {"error": "invalid request"}
        assert state(db, integration) == before


def test_discord_refusals_change_nothing(live_url: str, db: psycopg.Connection) -> None:
    user = str(uuid.uuid4().int)[:18]
    integration = planted(db, "discord", {"application_id": DISCORD_APP, "user_id": user})
    before = state(db, integration)
    forged = discord_body(user)
    cases = [
        without("X-Signature-Ed25519", "X-Signature-Timestamp")(*discord_signed(user)),
        without("X-Signature-Ed25519")(*discord_signed(user)),
        flipped(*discord_signed(user)),
        (forged, app_events.discord_headers(forged, app_events.now(), Ed25519PrivateKey.generate())),
        discord_signed(user, ts=app_events.now() - 301),
    ]
    for body, headers in cases:
        answer = post(live_url, "discord", body, headers)
        assert answer.status_code == 401 and answer.text == "invalid request signature"
        assert state(db, integration) == before


def test_whatsapp_refusals_change_nothing(live_url: str, db: psycopg.Connection) -> None:
    waba = str(uuid.uuid4().int)[:15]
    integration = planted(db, "whatsapp", {"waba_id": waba})
    before = state(db, integration)
    body = whatsapp_body(waba)
    cases = [
        without("X-Hub-Signature-256")(*whatsapp_signed(waba)),
        flipped(*whatsapp_signed(waba)),
        (body, app_events.meta_headers(body, "not-the-app-secret")),
        whatsapp_signed(waba, sent=app_events.now() - 301),
    ]
    for given, headers in cases:
        assert post(live_url, "whatsapp", given, headers).status_code == 401
        assert state(db, integration) == before


@pytest.mark.parametrize(
    ("provider", "signed", "meta_of", "accepted"),
    [
        ("slack", slack_signed, lambda i: {"team_id": i, "app_id": SLACK_APP}, 200),
        ("discord", discord_signed, lambda i: {"application_id": DISCORD_APP, "user_id": i}, 204),
        ("whatsapp", whatsapp_signed, lambda i: {"waba_id": i}, 200),
    ],
)
def test_a_replayed_event_is_answered_but_changes_nothing(
    live_url: str, db: psycopg.Connection, provider: str, signed: Callable, meta_of: Callable, accepted: int
) -> None:
    ident = str(uuid.uuid4().int)[:15]
    integration = planted(db, provider, meta_of(ident))
    body, headers = signed(ident)
    assert post(live_url, provider, body, headers).status_code == accepted
    assert state(db, integration)[0][0] == "needs_reconnect"
    reactivate(db, integration)  # as a reconnect would
    before = state(db, integration)
    for _ in range(2):  # a captured request sent again, within the freshness window
        assert post(live_url, provider, body, headers).status_code == accepted
        assert state(db, integration) == before


@pytest.mark.parametrize("provider", ["slack", "discord", "whatsapp"])
def test_oversized_bodies_are_refused_before_reading(live_url: str, provider: str) -> None:
    body = b'{"pad": "' + b"x" * OVERSIZED + b'"}'
    assert post(live_url, provider, body, {}).status_code == 413


def test_events_naming_ids_we_do_not_have_change_nothing(live_url: str, db: psycopg.Connection) -> None:
    """Correctly signed, but about another workspace, another app or another user: no install moves,
    and the other tenant's installs of the same workspace stay as they are."""
    team, user = "T0SEC" + uuid.uuid4().hex[:8].upper(), str(uuid.uuid4().int)[:18]
    slack = planted(db, "slack", {"team_id": team, "app_id": SLACK_APP})
    discord = planted(db, "discord", {"application_id": DISCORD_APP, "user_id": user})
    before = (state(db, slack), state(db, discord))
    for body, headers in (slack_signed(team, app="A0OTHERAPP"), slack_signed("T0NOBODY")):
        assert post(live_url, "slack", body, headers).status_code == 200
    for body, headers in (discord_signed(user, app="999"), discord_signed("1")):
        assert post(live_url, "discord", body, headers).status_code == 204
    assert (state(db, slack), state(db, discord)) == before
    assert post(live_url, "msteams", b"{}", {}).status_code == 404  # sends no events here


@pytest.fixture
def acme_api(live_url: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token_for('Acme', 'ada@acme.example')}"}
    with httpx.Client(base_url=live_url, headers=headers, timeout=20) as client:
        yield client


def test_telegram_install_url_refusals_change_nothing(acme_api: httpx.Client, db: psycopg.Connection) -> None:
    project = project_id("Acme", "Customer Support")
    token = new_bot(acme_api)
    assert acme_api.post(f"{base(project)}/telegram", json={"bot_token": token}).status_code == 200
    add_to_chat(acme_api, token, -1001900000077, "Chosen")
    assert (
        acme_api.put(f"{base(project)}/telegram/target", json={"target_id": "-1001900000077"}).status_code
        == 200
    )
    integration, meta = row(db, "telegram", project)[:2]
    url = f"/api/public/integrations/telegram/inbound/{meta['endpoint_id']}"
    before = state(db, integration)
    kicked = {
        "update_id": 5,
        "my_chat_member": {
            "chat": {"id": -1001900000077, "title": "Chosen", "type": "supergroup"},
            "date": app_events.now(),
            "new_chat_member": {"status": "kicked"},
        },
    }
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guessed"}):
        answer = acme_api.post(url, json=kicked, headers=headers)
        assert answer.status_code == 404 and answer.json() == {"detail": "not found"}
    stale = kicked | {"my_chat_member": kicked["my_chat_member"] | {"date": app_events.now() - 400}}
    assert acme_api.post(url, json=stale, headers=secret_of(db, integration)).status_code == 404
    big = acme_api.post(
        url, content=b"{" + b" " * OVERSIZED + b"}", headers={"Content-Type": "application/json"}
    )
    assert big.status_code == 413
    # Another tenant's chat named in this install's update: this install's target is another chat.
    elsewhere = kicked | {
        "update_id": 6,
        "my_chat_member": kicked["my_chat_member"] | {"chat": {"id": -42, "type": "group"}},
    }
    assert acme_api.post(url, json=elsewhere, headers=secret_of(db, integration)).status_code == 200
    assert state(db, integration)[0][:2] == before[0][:2]
    # The real thing, then its replay after a reconnect: the replay changes nothing.
    assert acme_api.post(url, json=kicked, headers=secret_of(db, integration)).status_code == 200
    assert state(db, integration)[0][:2] == ("needs_reconnect", "bot_removed")
    reactivate(db, integration)
    replayed = state(db, integration)
    assert acme_api.post(url, json=kicked, headers=secret_of(db, integration)).status_code == 200
    assert state(db, integration) == replayed
    acme_api.delete(f"{base(project)}/telegram")


def secret_of(db: psycopg.Connection, integration: uuid.UUID) -> dict[str, str]:
    """The install's Telegram secret token, read the way the console reads it (decrypting its bundle)."""
    return {"X-Telegram-Bot-Api-Secret-Token": bundle_of(db, integration)["secret_token"]}
