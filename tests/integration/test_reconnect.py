"""Reconnect in place and the wrong-account guard, per provider, over real HTTP against the sandboxes.

A reconnect keeps the row id, the picked target (same account), the event subscriptions, the delivery
history and the ticket threads, resumes paused deliveries and revokes the replaced token. A reinstall
reaching another account saves nothing until the agent confirms; refusing revokes the new token.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest
import redis as sync_redis

from devtools.seed import demo_id
from sandbox.google_chat_fixtures import ADA, GRACE
from sandbox.msteams_fixtures import CONTOSO, FABRIKAM
from tests.integration.test_install_flow import browser, inspect, query_of, row
from tests.utils.deliveries import add_delivery, wait_for
from tests.utils.events import Place, ticket_event
from tests.utils.forms import click
from tests.utils.health import bundle_of
from tests.utils.live import sandbox_origin
from tms_console.security.replacement_store import ReplacementStore
from tms_console.security.state_store import PREFIX, PendingInstall, digest

ACME = "Acme"
EVENTS = ["ticket.created", "ticket.resolved"]


@dataclass(frozen=True)
class Case:
    same: dict[str, str]  # consent choices reaching the installed account
    other: dict[str, str]  # ... and another account
    account_key: str
    picks_target: bool = False
    revokes_same: bool = True  # a same-account reconnect revokes the old token at the provider
    revokes: bool = True  # the provider has a revoke endpoint at all
    extra: dict[str, str] = field(default_factory=dict)


OAUTH = {
    "discord": Case({}, {"guild_id": "1180000000000000201", "channel_id": "1180000000000000212"}, "guild_id"),
    "slack": Case({}, {"team_id": "T0SANDBOX2"}, "team_id"),
    "msteams": Case(
        {"tenant_id": CONTOSO.id}, {"tenant_id": FABRIKAM.id}, "tenant_id", picks_target=True, revokes=False
    ),
    "google_chat": Case(
        {"account": ADA.sub}, {"account": GRACE.sub}, "account_id", picks_target=True, revokes_same=False
    ),
}


@pytest.fixture
def place(db: psycopg.Connection) -> Iterator[Place]:
    """A project of Acme's own for one test (the demo projects stay as seeded), removed afterwards."""
    found = Place(demo_id(ACME), uuid.uuid4())
    db.execute(
        "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, 'Reconnect')",
        (found.project_id, found.tenant_id),
    )
    yield found
    for table in ("deliveries", "ticket_events", "project_integrations", "integration_events"):
        db.execute(f"DELETE FROM {table} WHERE project_id = %s", (found.project_id,))
    db.execute("DELETE FROM projects WHERE id = %s", (found.project_id,))


@pytest.fixture
def ada(live_url: str) -> Iterator[httpx.Client]:
    with browser(live_url, ACME, "ada@acme.example") as client:
        yield client


def base(place: Place) -> str:
    return f"/v1/tenants/{place.tenant_id}/projects/{place.project_id}/integrations"


def oauth_install(
    client: httpx.Client, kind: str, place: Place, route: str = "install", **picks: str
) -> dict:
    started = client.get(
        f"/api/console/integrations/{kind}/{route}", params={"project_id": str(place.project_id)}
    )
    assert started.status_code == 303, started.text
    page = client.get(started.headers["location"])
    assert page.status_code == 200, page.text[:300]
    method, action, data = click(page.text, str(page.url), "approve", **picks)
    answer = client.request(method, action, data=data)
    assert answer.status_code in (302, 303), answer.text[:300]
    done = client.get(answer.headers["location"])
    assert done.status_code == 303, done.text[:300]
    return query_of(done.headers["location"])


def snapshot(db: psycopg.Connection, kind: str, place: Place) -> tuple:
    found = row(db, kind, place.project_id)
    assert found is not None
    credential = db.execute(
        "SELECT ciphertext FROM integration_credentials WHERE integration_id = %s", (found[0],)
    ).fetchone()
    return found[0], found[1], found[2], bytes(credential[0])


def bundle(db: psycopg.Connection, kind: str, place: Place) -> dict:
    return bundle_of(db, row(db, kind, place.project_id)[0])


def history(db: psycopg.Connection, place: Place, row_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """A delivered delivery, a paused one and a ticket thread on the row, as a failing install leaves them."""
    done = add_delivery(db, place, row_id, ticket_event(ticket_id="T-1"))
    paused = add_delivery(db, place, row_id, ticket_event(ticket_id="T-2"), attempts=1)
    db.execute("UPDATE deliveries SET status = 'delivered' WHERE id = %s", (done,))
    db.execute(
        "UPDATE deliveries SET status = 'paused', last_reason = 'invalid_auth' WHERE id = %s", (paused,)
    )
    db.execute(
        "INSERT INTO ticket_threads (integration_id, ticket_id, handle) VALUES (%s, 'T-1', 'first-message')",
        (row_id,),
    )
    return done, paused


def actions(db: psycopg.Connection, row_id: uuid.UUID) -> list[str]:
    found = db.execute(
        "SELECT action FROM integration_events WHERE integration_id = %s ORDER BY created_at", (row_id,)
    ).fetchall()
    return [action for (action,) in found]


def decide(client: httpx.Client, place: Place, replacement: str, replace: bool) -> httpx.Response:
    return client.post(
        f"/v1/tenants/{place.tenant_id}/projects/{place.project_id}/replacement",
        json={"replacement": replacement, "replace": replace},
    )


def revocations(client: httpx.Client, kind: str) -> int:
    return int(inspect(client, kind)["revocations"])


@pytest.mark.parametrize("kind", list(OAUTH))
def test_oauth_reconnect_keeps_the_row_and_guards_the_account(kind, ada, db, place) -> None:
    case = OAUTH[kind]
    assert oauth_install(ada, kind, place, **case.same)["status"] == "success"
    if case.picks_target:
        target = ada.get(f"{base(place)}/{kind}/targets").json()["targets"][0]
        assert ada.put(f"{base(place)}/{kind}/target", json={"target_id": target["id"]}).status_code == 200
    assert ada.put(f"{base(place)}/{kind}/events", json={"events": EVENTS}).status_code == 200
    row_id, meta, _, _ = snapshot(db, kind, place)
    done, paused = history(db, place, row_id)
    db.execute("UPDATE project_integrations SET status = 'needs_reconnect' WHERE id = %s", (row_id,))
    old_token = bundle(db, kind, place).get("access_token")
    revoked = revocations(ada, kind) if case.revokes else 0

    # Reconnect, same account: the same row, target, events, history and threads; paused deliveries resume.
    assert oauth_install(ada, kind, place, **case.same)["status"] == "success"
    same_id, after, status, _ = snapshot(db, kind, place)
    assert (same_id, status) == (row_id, "active")
    assert after["events"] == EVENTS and after[case.account_key] == meta[case.account_key]
    assert after.get("target_id") == meta.get("target_id")
    assert db.execute("SELECT status FROM deliveries WHERE id = %s", (done,)).fetchone() == ("delivered",)
    assert db.execute("SELECT status FROM deliveries WHERE id = %s", (paused,)).fetchone() == ("pending",)
    assert db.execute(
        "SELECT count(*) FROM ticket_threads WHERE integration_id = %s", (row_id,)
    ).fetchone() == (1,)
    assert actions(db, row_id)[-2:] == ["reconnected", "status_changed"]
    assert bundle(db, kind, place).get("access_token") != old_token
    if case.revokes:
        assert revocations(ada, kind) == revoked + (1 if case.revokes_same else 0)

    # Another account: nothing saved, the agent is asked; refusing (the default) revokes the new token.
    if kind == "msteams":  # Fabrikam's users need an administrator's approval first
        granted = oauth_install(ada, kind, place, route="admin-consent", **case.other)
        assert granted["reason"] == "admin_consent_granted"
    before = snapshot(db, kind, place)
    revoked = revocations(ada, kind) if case.revokes else 0
    asked = oauth_install(ada, kind, place, **case.other)
    assert (asked["status"], asked["reason"]) == ("error", "wrong_account") and asked["replace"]
    assert snapshot(db, kind, place) == before
    assert decide(ada, place, asked["replace"], False).json() == {"result": "replacement_refused"}
    assert snapshot(db, kind, place) == before
    assert decide(ada, place, asked["replace"], True).status_code == 404  # decided once only
    if case.revokes:
        assert revocations(ada, kind) == revoked + 1

    # ... confirming saves it over the same row: the new account, the old token revoked, events kept.
    asked = oauth_install(ada, kind, place, **case.other)
    with browser(str(ada.base_url).rstrip("/"), ACME, "alice@acme.example") as alice:  # not hers to decide
        assert decide(alice, place, asked["replace"], True).status_code == 404
    revoked = revocations(ada, kind) if case.revokes else 0
    assert decide(ada, place, asked["replace"], True).json() == {"result": "replaced"}
    replaced_id, replaced, status, _ = snapshot(db, kind, place)
    assert replaced_id == row_id and replaced[case.account_key] != meta[case.account_key]
    assert replaced["events"] == EVENTS and "target_id" not in replaced
    assert actions(db, row_id)[-1] == "replaced"
    if case.revokes:
        assert revocations(ada, kind) == revoked + 1
    assert ada.delete(f"{base(place)}/{kind}").status_code == 204


def test_slack_reconnect_revokes_the_old_token_for_good(ada, db, place) -> None:
    assert oauth_install(ada, "slack", place)["status"] == "success"
    old = bundle(db, "slack", place)["access_token"]
    assert oauth_install(ada, "slack", place)["status"] == "success"
    answer = httpx.post(
        f"{sandbox_origin()}/sandbox/slack/api/auth.test", headers={"Authorization": f"Bearer {old}"}
    )
    assert answer.json() == {"ok": False, "error": "token_revoked"}
    new = bundle(db, "slack", place)["access_token"]
    answer = httpx.post(
        f"{sandbox_origin()}/sandbox/slack/api/auth.test", headers={"Authorization": f"Bearer {new}"}
    )
    assert answer.json()["ok"] is True
    assert ada.delete(f"{base(place)}/slack").status_code == 204


def test_reconnect_carries_the_row_in_the_oauth_state(ada, db, place, redis_url) -> None:
    assert oauth_install(ada, "slack", place)["status"] == "success"
    row_id = row(db, "slack", place.project_id)[0]
    started = ada.get("/api/console/integrations/slack/install", params={"project_id": str(place.project_id)})
    state = query_of(started.headers["location"])["state"]
    stored = sync_redis.Redis.from_url(redis_url).get(PREFIX + digest(state))
    assert PendingInstall(**json.loads(stored)).reconnect_of == str(row_id)
    assert ada.delete(f"{base(place)}/slack").status_code == 204


def new_bot(client: httpx.Client) -> str:
    page = client.post(f"{sandbox_origin()}/sandbox/telegram/botfather", data={"name": "Support bot"})
    match = re.search(r'<code id="bot-token">([^<]+)</code>', page.text)
    assert match, page.text[:300]
    return match.group(1)


def add_to_chat(client: httpx.Client, token: str, chat_id: int) -> dict:
    answer = client.post(
        f"{sandbox_origin()}/sandbox/telegram/_add_to_chat",
        json={"bot_token": token, "chat": {"id": chat_id, "title": "Room", "type": "supergroup"}},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_telegram_reconnect_keeps_chat_and_webhook_and_guards_the_bot(ada, db, place) -> None:
    token = new_bot(ada)
    assert ada.post(f"{base(place)}/telegram", json={"bot_token": token}).status_code == 200
    assert add_to_chat(ada, token, -1001900000777)["delivered"] is True
    assert ada.put(f"{base(place)}/telegram/target", json={"target_id": "-1001900000777"}).status_code == 200
    row_id, meta, _, _ = snapshot(db, "telegram", place)
    db.execute("UPDATE project_integrations SET status = 'disabled' WHERE id = %s", (row_id,))

    assert ada.post(f"{base(place)}/telegram", json={"bot_token": token}).status_code == 200
    same_id, after, status, _ = snapshot(db, "telegram", place)
    assert (same_id, status, after["target_id"]) == (row_id, "active", "-1001900000777")
    assert after["chats"] == meta["chats"] and actions(db, row_id)[-2:] == ["reconnected", "status_changed"]
    assert add_to_chat(ada, token, -1001900000778)["delivered"] is True  # the webhook was not deleted

    other = new_bot(ada)
    before = snapshot(db, "telegram", place)
    asked = ada.post(f"{base(place)}/telegram", json={"bot_token": other})
    assert asked.status_code == 409 and asked.json()["reason"] == "wrong_account"
    assert meta["account_name"] in asked.json()["detail"] and other not in asked.text
    assert snapshot(db, "telegram", place) == before
    assert decide(ada, place, asked.json()["replacement"], False).json() == {"result": "replacement_refused"}
    assert add_to_chat(ada, other, -1001900000779)["delivered"] is False  # its webhook was removed

    asked = ada.post(f"{base(place)}/telegram", json={"bot_token": other})
    assert decide(ada, place, asked.json()["replacement"], True).json() == {"result": "replaced"}
    replaced_id, replaced, _, _ = snapshot(db, "telegram", place)
    assert replaced_id == row_id and replaced["bot_id"] != meta["bot_id"] and "target_id" not in replaced
    assert add_to_chat(ada, token, -1001900000780)["delivered"] is False  # the old bot's webhook is gone
    assert ada.delete(f"{base(place)}/telegram").status_code == 204


def signup(client: httpx.Client, live_url: str, waba: str, phone: str) -> dict:
    params = {
        "client_id": "sandbox-whatsapp-client",
        "config_id": "1900000000000001",
        "redirect_uri": f"{live_url}/api/public/integrations/whatsapp/callback",
        "response_type": "code",
        "state": "x",
    }
    page = client.get(f"{sandbox_origin()}/sandbox/whatsapp/dialog", params=params)
    method, action, data = click(page.text, str(page.url), "approve")
    data |= {"waba_id": waba, "phone_number_id": phone}
    answer = client.request(method, action, data=data, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text[:300]
    return answer.json()


def test_whatsapp_reconnect_keeps_the_recipient_and_guards_the_waba(ada, db, place, live_url) -> None:
    acme = ("1020000000000011", "1030000000000111")
    connected = ada.post(
        f"{base(place)}/whatsapp", json=signup(ada, live_url, *acme) | {"recipient": "+15551230042"}
    )
    assert connected.status_code == 200, connected.text
    row_id = snapshot(db, "whatsapp", place)[0]
    db.execute("UPDATE project_integrations SET status = 'needs_reconnect' WHERE id = %s", (row_id,))
    revoked = revocations(ada, "whatsapp")

    assert ada.post(f"{base(place)}/whatsapp", json=signup(ada, live_url, *acme)).status_code == 200
    same_id, after, status, _ = snapshot(db, "whatsapp", place)
    assert (same_id, status, after["recipient"]) == (row_id, "active", "+15551230042")
    assert revocations(ada, "whatsapp") == revoked  # the same WABA stays subscribed

    marketing = signup(ada, live_url, "1020000000000012", "1030000000000121")
    asked = ada.post(f"{base(place)}/whatsapp", json=marketing)
    assert asked.status_code == 409 and asked.json()["reason"] == "wrong_account"
    assert decide(ada, place, asked.json()["replacement"], True).json() == {"result": "replaced"}
    replaced_id, replaced, _, _ = snapshot(db, "whatsapp", place)
    assert replaced_id == row_id and replaced["waba_id"] == "1020000000000012"
    assert "recipient" not in replaced and revocations(ada, "whatsapp") == revoked + 1
    assert ada.delete(f"{base(place)}/whatsapp").status_code == 204


def test_an_expired_replacement_is_dropped_and_its_token_revoked(ada, db, place, worker) -> None:
    assert oauth_install(ada, "slack", place)["status"] == "success"
    before = snapshot(db, "slack", place)
    asked = oauth_install(ada, "slack", place, team_id="T0SANDBOX2")
    revoked = revocations(ada, "slack")
    handle = ReplacementStore.handle(asked["replace"])
    job = (
        "SELECT status FROM procrastinate_jobs "
        "WHERE task_name = 'expire_replacement' AND args->>'handle' = %s"
    )
    assert db.execute(job, (handle,)).fetchall() == [("todo",)]  # due in ten minutes; made due now:
    db.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE args->>'handle' = %s", (handle,))
    wait_for(db, job, (handle,), lambda rows: rows == [("succeeded",)])
    assert revocations(ada, "slack") == revoked + 1
    assert decide(ada, place, asked["replace"], True).status_code == 404
    assert snapshot(db, "slack", place) == before
    assert actions(db, before[0])[-1] == "replacement_expired"
    assert ada.delete(f"{base(place)}/slack").status_code == 204


def test_a_disabled_webhook_reconnects_on_its_row_with_its_history(ada, db, place) -> None:
    """A webhook has no provider account: connecting a new URL over it is a reconnect, never a guard."""
    receiver = f"{sandbox_origin()}/sandbox/webhook/receive/"
    fields = {"url": receiver + uuid.uuid4().hex, "events": EVENTS}
    assert ada.post(f"{base(place)}/webhook", json=fields).status_code == 200
    row_id = snapshot(db, "webhook", place)[0]
    done, paused = history(db, place, row_id)
    db.execute("UPDATE project_integrations SET status = 'disabled' WHERE id = %s", (row_id,))
    fields = {"url": receiver + uuid.uuid4().hex, "events": ["ticket.created"]}
    assert ada.post(f"{base(place)}/webhook", json=fields).status_code == 200
    same_id, meta, status, _ = snapshot(db, "webhook", place)
    assert (same_id, status, meta["events"]) == (row_id, "active", ["ticket.created"])  # the form picked
    assert db.execute("SELECT status FROM deliveries WHERE id = %s", (paused,)).fetchone() == ("pending",)
    assert db.execute("SELECT status FROM deliveries WHERE id = %s", (done,)).fetchone() == ("delivered",)
    assert actions(db, row_id)[-2:] == ["reconnected", "status_changed"]
    assert ada.delete(f"{base(place)}/webhook").status_code == 204
