"""SECURITY.md "Faults": Redis down at start or callback; Postgres down or a connection killed mid-callback.

The console API runs as a subprocess on a private Postgres and a private Redis (see conftest.py), which
these tests really stop, restart and tamper with.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import httpx
import redis

from tests.utils.forms import click
from tests.utils.identities import identity, project_id, token_for
from tests.utils.private_services import Rig
from tms_console.domain.reasons import Reason, describe

TENANT = str(identity().tenant_id)
KIND = "discord"


GLOBEX = ("Globex", "gary@globex.example")


def browser(tenant: str = "Acme", email: str = "alice@acme.example") -> httpx.Client:
    client = httpx.Client(follow_redirects=False, timeout=30)
    client.cookies.set("tms_session", token_for(tenant, email), domain="127.0.0.1")
    return client


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def approve(rig: Rig, client: httpx.Client, project: object) -> str:
    """Press Install in the console and Approve at the sandbox; returns the callback URL."""
    start = client.get(
        f"{rig.console}/api/console/integrations/{KIND}/install", params={"project_id": str(project)}
    )
    assert start.status_code == 303, start.text
    assert start.headers["location"].startswith(rig.sandbox + "/sandbox/discord/")
    consent = client.get(start.headers["location"])
    assert consent.status_code == 200, consent.text
    method, action, data = click(consent.text, str(consent.url), "approve")
    answer = client.request(method, action, data=data)
    assert answer.status_code in (302, 303), answer.text
    callback = answer.headers["location"]
    assert callback.startswith(rig.console + "/api/public/integrations/discord/callback?")
    return callback


def install(rig: Rig, project: object) -> httpx.Response:
    with browser() as client:
        return client.get(approve(rig, client, project))


def exchanges(rig: Rig) -> int:
    return int(httpx.get(f"{rig.sandbox}/sandbox/{KIND}/_inspect", timeout=10).json()["token_exchanges"])


def rows(rig: Rig, project: object) -> list[tuple[object, ...]]:
    """The project's integration rows, each with whether its credentials exist."""
    return rig.sql(
        "SELECT i.id, c.integration_id IS NOT NULL FROM project_integrations i "
        "LEFT JOIN integration_credentials c ON c.integration_id = i.id "
        "WHERE i.project_id = %s AND i.integration_type = %s",
        (project, KIND),
    )


def events(rig: Rig, project: object) -> list[tuple[object, ...]]:
    return rig.sql(
        "SELECT action, reason FROM integration_events WHERE project_id = %s ORDER BY created_at", (project,)
    )


def assert_installed(rig: Rig, project: object) -> None:
    """A full install over HTTP succeeds: 303 success, one row with its credentials, an audit row."""
    done = install(rig, project)
    assert done.status_code == 303, done.text
    assert query_of(done.headers["location"]) == {"status": "success", "integration": KIND}
    assert [has_credentials for _, has_credentials in rows(rig, project)] == [True]
    assert ("installed", "installed") in events(rig, project)


def list_url(project: object) -> str:
    return f"/v1/tenants/{TENANT}/projects/{project}/integrations"


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for()}"}


def test_redis_down_at_start_hands_out_no_authorize_url(rig: Rig) -> None:
    project = project_id("Acme", "Customer Support")
    rig.redis.stop()
    with httpx.Client(base_url=rig.console, timeout=30, follow_redirects=False) as api:
        answer = api.get(list_url(project) + f"/{KIND}/install", headers=bearer())
        assert answer.status_code == 503
        assert answer.json() == {"detail": "redis unavailable", "reason": "unavailable"}
        assert api.get("/api/health").json() == {"database": "ok", "redis": "down"}
    with browser() as client:
        start = client.get(
            f"{rig.console}/api/console/integrations/{KIND}/install", params={"project_id": str(project)}
        )
    assert start.status_code == 303
    assert start.headers["location"] == (
        f"{rig.console}/projects/{project}/integrations?status=error&integration={KIND}&reason=unavailable"
    )
    assert "set-cookie" not in start.headers  # no browser binding for a flow that never started
    assert rows(rig, project) == []

    rig.redis.start()
    assert_installed(rig, project)


def test_redis_down_at_callback_is_a_clear_503_and_no_exchange(rig: Rig) -> None:
    project = project_id("Acme", "Billing Desk")
    with browser() as client:
        callback = approve(rig, client, project)
        before = exchanges(rig)
        rig.redis.stop()
        answer = client.get(callback)
        assert answer.status_code == 503
        assert answer.headers["content-type"].startswith("text/html")
        assert "temporarily unavailable" in answer.text and "try again" in answer.text
        assert "Traceback" not in answer.text and "Error" not in answer.text
        assert exchanges(rig) == before
        assert rows(rig, project) == [] and events(rig, project) == []
        assert "oauth_callback reason=unavailable type=discord" in rig.log_text()

        # The state was not consumed and the browser binding was kept: reloading after the restart works.
        rig.redis.start()
        retried = client.get(callback)
    assert query_of(retried.headers["location"]) == {"status": "success", "integration": KIND}
    assert exchanges(rig) == before + 1
    assert [has_credentials for _, has_credentials in rows(rig, project)] == [True]
    assert_installed(rig, project)  # and a fresh install works too


def test_postgres_down_at_callback_tells_the_user_to_retry(rig: Rig) -> None:
    project = project_id("Acme", "Onboarding")
    with browser() as client:
        callback = approve(rig, client, project)
        before = exchanges(rig)
        rig.postgres.stop()
        answer = client.get(callback)
    assert answer.status_code == 303, answer.text
    assert query_of(answer.headers["location"]) == {
        "status": "error",
        "integration": KIND,
        "reason": "not_saved",
        "ref": answer.headers["x-request-id"],
    }
    assert "try again" in describe(Reason.NOT_SAVED, "Discord")  # what the console page says
    assert exchanges(rig) == before + 1  # the state was consumed and the code spent; only the save failed
    rig.postgres.start()
    assert rows(rig, project) == []
    assert ("installed", "installed") not in events(rig, project)

    assert_installed(rig, project)


STALL = """
CREATE OR REPLACE FUNCTION fault_stall() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$;
CREATE TRIGGER fault_stall BEFORE INSERT ON integration_credentials
FOR EACH ROW EXECUTE FUNCTION fault_stall();
"""


def test_connection_killed_mid_callback_rolls_back_and_a_retry_works(rig: Rig) -> None:
    project = project_id("Globex", "Helpdesk")
    rig.sql(STALL)
    try:
        with browser(*GLOBEX) as client, ThreadPoolExecutor(1) as pool:
            pending = pool.submit(client.get, approve(rig, client, project))
            pid = _sleeping_backend(rig)
            # The row is already upserted inside the open transaction, and invisible outside it.
            assert rows(rig, project) == []
            assert rig.sql("SELECT pg_terminate_backend(%s)", (pid,)) == [(True,)]
            answer = pending.result(timeout=20)
    finally:
        rig.sql("DROP TRIGGER IF EXISTS fault_stall ON integration_credentials")
    assert answer.status_code == 303, answer.text
    assert query_of(answer.headers["location"])["reason"] == "not_saved"
    assert rows(rig, project) == []
    assert events(rig, project) == [("install_failed", "not_saved")]

    # The pool drops the dead connection: the next requests work without restarting anything.
    headers = {"Authorization": f"Bearer {token_for(*GLOBEX)}"}
    globex = str(identity(*GLOBEX).tenant_id)
    for _ in range(6):  # more than the pool holds, so every pooled connection is used
        listing = httpx.get(
            f"{rig.console}/v1/tenants/{globex}/projects/{project}/integrations", headers=headers, timeout=10
        )
        assert listing.status_code == 200, listing.text
    with browser(*GLOBEX) as client:
        done = client.get(approve(rig, client, project))
    assert query_of(done.headers["location"])["status"] == "success"
    assert [has_credentials for _, has_credentials in rows(rig, project)] == [True]


def _sleeping_backend(rig: Rig) -> int:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = rig.sql(
            "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()"
        )
        if found:
            return int(found[0][0])
        time.sleep(0.05)
    raise AssertionError("the callback never reached the credentials insert")


def test_postgres_down_list_install_and_health_answer_503(rig: Rig) -> None:
    project = project_id("Acme", "Customer Support")
    states = redis.Redis.from_url(rig.redis.url)
    with httpx.Client(base_url=rig.console, timeout=30) as api, browser() as client:
        assert api.get(list_url(project), headers=bearer()).status_code == 200
        rig.postgres.stop()
        answer = api.get(list_url(project), headers=bearer())
        assert answer.status_code == 503
        assert answer.json() == {"detail": "database unavailable", "reason": "unavailable"}
        health = api.get("/api/health")
        assert health.status_code == 503 and health.json() == {"database": "down", "redis": "ok"}
        # Installing needs the project check first: no authorize URL, no state stored.
        issued = api.get(list_url(project) + f"/{KIND}/install", headers=bearer())
        assert issued.status_code == 503 and issued.json()["reason"] == "unavailable"
        start = client.get(
            f"{rig.console}/api/console/integrations/{KIND}/install", params={"project_id": str(project)}
        )
        assert query_of(start.headers["location"])["reason"] == "unavailable"
        assert states.keys("oauth:state:*") == []
        rig.postgres.start()
        assert api.get(list_url(project), headers=bearer()).status_code == 200
        assert api.get("/api/health").json() == {"database": "ok", "redis": "ok"}
    states.close()


def test_no_secret_in_the_console_log(rig: Rig) -> None:
    """After an install (and whatever faults ran before), the console log holds no issued secret."""
    project = project_id("Globex", "Field Service")
    with browser(*GLOBEX) as client:
        done = client.get(approve(rig, client, project))
    assert query_of(done.headers["location"])["status"] == "success"
    log = rig.log_text()
    assert f"oauth_callback reason=installed type=discord tenant={identity(*GLOBEX).tenant_id}" in log
    assert rig.canary not in log and "Traceback" not in log
