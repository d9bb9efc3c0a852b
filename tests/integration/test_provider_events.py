"""Events from the providers, end to end: a button on a sandbox provider's page does what the provider does
(its tokens stop working) and sends the console its signed event over real HTTP; every install it names
moves to "needs reconnect" with a reason and one audit event, deliveries pause, the history stays, and a
reconnect resumes them. Slack "Remove app" / "Revoke tokens", Discord "Deauthorize", WhatsApp "Remove
partner", Telegram "Kick bot".

The sandbox's Slack workspace, Discord user and WhatsApp accounts are shared by every test of the run:
`others_kept` puts back the status of installs other tests left behind.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
import pytest

from devtools.seed import demo_id
from sandbox import app_events
from tests.integration.test_connect_flows import add_to_chat, base, card, new_bot, signup
from tests.integration.test_install_flow import browser, install, row
from tests.utils.deliveries import add_delivery, run_deliver
from tests.utils.details import wait_for_meta
from tests.utils.events import Place, add_integration, ticket_event
from tests.utils.identities import project_id, token_for
from tests.utils.live import sandbox_origin
from tests.utils.provider_events import slack_post

ACME, GLOBEX = "Acme", "Globex"
RECONNECT = "needs_reconnect"


def uninstall(live_url: str, kind: str, tenant: str, email: str, project: object) -> None:
    url = f"{live_url}/v1/tenants/{demo_id(tenant)}/projects/{project}/integrations/{kind}"
    httpx.delete(url, headers={"Authorization": f"Bearer {token_for(tenant, email)}"}, timeout=20)


@pytest.fixture
def api(live_url: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token_for(ACME, 'ada@acme.example')}"}
    with httpx.Client(base_url=live_url, headers=headers, timeout=20) as client:
        yield client


def status(db: psycopg.Connection, kind: str, project: object) -> tuple[str, str | None]:
    found = db.execute(
        "SELECT status, status_reason FROM project_integrations "
        "WHERE project_id = %s AND integration_type = %s",
        (project, kind),
    ).fetchone()
    assert found is not None
    return found[0], found[1]


def status_changes(db: psycopg.Connection, integration_id: object) -> list[tuple]:
    return db.execute(
        "SELECT reason, actor_id, to_status FROM integration_events "
        "WHERE integration_id = %s AND action = 'status_changed' ORDER BY created_at",
        (integration_id,),
    ).fetchall()


def press(client: httpx.Client, path: str, **form: str) -> int:
    """Press a sandbox provider's button; the HTTP status the console answered its event with."""
    page = client.post(f"{sandbox_origin()}{path}", data=form)
    assert page.status_code == 200, page.text[:300]
    found = re.search(r"data-status='(\d+)'", page.text)
    assert found, page.text[:300]
    return int(found.group(1))


@contextmanager
def others_kept(db: psycopg.Connection, kind: str, mine: set[object]) -> Iterator[None]:
    """Installs of `kind` not made by this test get their status back afterwards."""
    before = db.execute(
        "SELECT id, status, status_reason FROM project_integrations WHERE integration_type = %s", (kind,)
    ).fetchall()
    try:
        yield
    finally:
        for row_id, old_status, old_reason in before:
            if row_id not in mine:
                db.execute(
                    "UPDATE project_integrations SET status = %s, status_reason = %s WHERE id = %s",
                    (old_status, old_reason, row_id),
                )


def test_slack_remove_app_moves_every_install_of_the_workspace_and_a_reconnect_resumes(
    live_url: str, db: psycopg.Connection
) -> None:
    acme, globex = project_id(ACME, "Customer Support"), project_id(GLOBEX, "Helpdesk")
    with browser(live_url) as alice, browser(live_url, GLOBEX, "gary@globex.example") as gary:
        assert install(alice, "slack", acme).status_code == 303
        assert install(gary, "slack", globex).status_code == 303
        acme_id, globex_id = row(db, "slack", acme)[0], row(db, "slack", globex)[0]
        with others_kept(db, "slack", {acme_id, globex_id}):
            assert press(alice, "/sandbox/slack/apps/remove") == 200
            assert status(db, "slack", acme) == (RECONNECT, "uninstalled_by_provider")
            assert status(db, "slack", globex) == (RECONNECT, "uninstalled_by_provider")
            assert status_changes(db, acme_id) == [("uninstalled_by_provider", "provider", RECONNECT)]
            shown = alice.get(
                f"/v1/tenants/{demo_id(ACME)}/projects/{acme}/integrations",
                headers={"Authorization": f"Bearer {token_for(ACME)}"},
            ).json()["integrations"]
            assert next(i for i in shown if i["type"] == "slack")["status"] == RECONNECT
            # Removing it again (Slack retries, or a second admin) changes nothing more.
            assert press(alice, "/sandbox/slack/apps/remove") == 200
            assert len(status_changes(db, acme_id)) == 1
            # A reconnect (the install again) makes it active, on the same row, with its history.
            assert install(alice, "slack", acme).status_code == 303
            assert row(db, "slack", acme)[0] == acme_id
            assert status(db, "slack", acme) == ("active", None)
            assert [c[0] for c in status_changes(db, acme_id)] == ["uninstalled_by_provider", "reconnected"]
    uninstall(live_url, "slack", ACME, "alice@acme.example", acme)
    uninstall(live_url, "slack", GLOBEX, "gary@globex.example", globex)


def test_slack_revoke_tokens_needs_reconnect_and_the_old_token_is_refused(
    live_url: str, db: psycopg.Connection
) -> None:
    project = project_id(ACME, "Onboarding")
    with browser(live_url) as alice:
        assert install(alice, "slack", project).status_code == 303
        row_id = row(db, "slack", project)[0]
        with others_kept(db, "slack", {row_id}):
            assert press(alice, "/sandbox/slack/apps/revoke") == 200
            assert status(db, "slack", project) == (RECONNECT, "tokens_revoked")
            assert status_changes(db, row_id) == [("tokens_revoked", "provider", RECONNECT)]
    uninstall(live_url, "slack", ACME, "alice@acme.example", project)


def test_deliveries_pause_on_an_uninstall_at_the_provider_and_keep_their_history(
    live_url: str, db: psycopg.Connection, place: Place
) -> None:
    team = "T0PAUSE" + place.tenant_id.hex[:6].upper()
    integration = add_integration(db, place, "slack")
    db.execute(
        "UPDATE project_integrations SET meta = %s WHERE id = %s",
        (psycopg.types.json.Jsonb({"team_id": team, "app_id": "A0SBXAPP01"}), integration),
    )
    done = add_delivery(db, place, integration, ticket_event(), kind="slack")
    db.execute("UPDATE deliveries SET status = 'delivered' WHERE id = %s", (done,))
    assert slack_post(live_url, {"type": "app_uninstalled"}, team=team).status_code == 200
    assert status_of_row(db, integration) == (RECONNECT, "uninstalled_by_provider")
    waiting = add_delivery(db, place, integration, ticket_event(), kind="slack")
    run_deliver(waiting)
    paused = db.execute("SELECT status, last_reason FROM deliveries WHERE id = %s", (waiting,)).fetchone()
    assert paused == ("paused", "uninstalled_by_provider")
    (kept,) = db.execute("SELECT status FROM deliveries WHERE id = %s", (done,)).fetchone()
    assert kept == "delivered"


def status_of_row(db: psycopg.Connection, integration_id: object) -> tuple[str, str | None]:
    found = db.execute(
        "SELECT status, status_reason FROM project_integrations WHERE id = %s", (integration_id,)
    ).fetchone()
    assert found is not None
    return found[0], found[1]


def test_discord_deauthorize_needs_reconnect_for_the_users_installs(
    live_url: str, db: psycopg.Connection, worker: object
) -> None:
    project = project_id(ACME, "Customer Support")
    with browser(live_url) as alice:
        assert install(alice, "discord", project).status_code == 303
        wait_for_meta(db, "discord", project, "user_id")  # fetched after the redirect
        row_id, meta = row(db, "discord", project)[0], row(db, "discord", project)[1]
        assert meta["user_id"] == "1180000000000000001" and meta["application_id"]
        with others_kept(db, "discord", {row_id}):
            assert press(alice, "/sandbox/discord/apps/deauthorize") == 204
            assert status(db, "discord", project) == (RECONNECT, "deauthorized")
            assert status_changes(db, row_id) == [("deauthorized", "provider", RECONNECT)]
    uninstall(live_url, "discord", ACME, "alice@acme.example", project)


def test_whatsapp_remove_partner_needs_reconnect_for_that_account_only(
    api: httpx.Client, live_url: str, db: psycopg.Connection
) -> None:
    project = project_id(ACME, "Onboarding")
    result = signup(api, live_url)
    assert (
        api.post(f"{base(project)}/whatsapp", json=result | {"recipient": "+15551230042"}).status_code == 200
    )
    row_id = row(db, "whatsapp", project)[0]
    other_waba = next(
        w
        for w in re.findall(r'name="waba_id" value="(\d+)"', api.get(f"{sandbox_origin()}/sandbox/apps").text)
        if w != result["waba_id"]
    )
    with others_kept(db, "whatsapp", {row_id}):
        assert press(api, "/sandbox/whatsapp/apps/remove", waba_id=other_waba) == 200
        assert status(db, "whatsapp", project) == ("active", None)
        assert press(api, "/sandbox/whatsapp/apps/remove", waba_id=result["waba_id"]) == 200
        assert status(db, "whatsapp", project) == (RECONNECT, "uninstalled_by_provider")
    assert card(api, project, "whatsapp")["status"] == RECONNECT
    api.delete(f"{base(project)}/whatsapp")


def test_whatsapp_subscription_handshake_over_http(live_url: str) -> None:
    url = f"{live_url}/api/public/integrations/whatsapp/events"
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": app_events.WHATSAPP_VERIFY_TOKEN,
        "hub.challenge": "8675309",
    }
    answer = httpx.get(url, params=query)
    assert answer.status_code == 200 and answer.text == "8675309"
    assert answer.headers["content-type"].startswith("text/plain")
    assert httpx.get(url, params=query | {"hub.verify_token": "guess"}).status_code == 403


def test_telegram_kick_bot_from_the_chosen_chat_needs_reconnect(
    api: httpx.Client, db: psycopg.Connection
) -> None:
    project = project_id(ACME, "Billing Desk")
    token = new_bot(api)
    assert api.post(f"{base(project)}/telegram", json={"bot_token": token}).status_code == 200
    add_to_chat(api, token, -1001900000001, "Acme Support HQ")
    add_to_chat(api, token, -1001900000002, "Acme Ticket Alerts")
    assert (
        api.put(f"{base(project)}/telegram/target", json={"target_id": "-1001900000001"}).status_code == 200
    )
    row_id = row(db, "telegram", project)[0]
    bot_id = token.split(":")[0]
    # Kicked from another chat: nothing to reconnect.
    kicked = api.post(
        f"{sandbox_origin()}/sandbox/telegram/chats",
        data={"bot_id": bot_id, "kick_chat_id": "-1001900000002"},
    )
    assert "webhook (HTTP 200)" in kicked.text
    assert status(db, "telegram", project) == ("active", None)
    # Kicked from the chosen chat: the sandbox's Bot API refuses it there from now on.
    kicked = api.post(
        f"{sandbox_origin()}/sandbox/telegram/chats",
        data={"bot_id": bot_id, "kick_chat_id": "-1001900000001"},
    )
    assert "webhook (HTTP 200)" in kicked.text
    assert status(db, "telegram", project) == (RECONNECT, "bot_removed")
    assert status_changes(db, row_id) == [("bot_removed", "provider", RECONNECT)]
    sent = api.post(
        f"{sandbox_origin()}/sandbox/telegram/bot{token}/sendMessage",
        json={"chat_id": -1001900000001, "text": "x"},
    )
    assert sent.status_code == 403
    api.delete(f"{base(project)}/telegram")
