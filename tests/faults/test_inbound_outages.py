"""Provider events while Redis or Postgres is down (private services, the console API as a subprocess):
a clear 503, nothing changed, and the provider's retry of the same signed call is acted on once the
service is back (a failed call does not keep its replay claim)."""

from __future__ import annotations

import uuid

import httpx
from psycopg.types.json import Jsonb

from devtools.seed import demo_id
from sandbox import app_events
from tests.utils.identities import project_id
from tests.utils.private_services import Rig
from tests.utils.provider_events import SLACK_APP, slack_body


def planted(rig: Rig, project: str) -> tuple[str, uuid.UUID]:
    """A Slack install of a workspace of its own in the private database."""
    team, integration = "T0OUT" + uuid.uuid4().hex[:8].upper(), uuid.uuid4()
    rig.sql(
        "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta, status) "
        "VALUES (%s, %s, %s, 'slack', %s, 'active')",
        (
            integration,
            demo_id("Acme"),
            project_id("Acme", project),
            Jsonb({"team_id": team, "app_id": SLACK_APP}),
        ),
    )
    return team, integration


def status(rig: Rig, integration: uuid.UUID) -> list[tuple[object, ...]]:
    found = rig.sql("SELECT status, status_reason FROM project_integrations WHERE id = %s", (integration,))
    return found + rig.sql("SELECT action FROM integration_events WHERE integration_id = %s", (integration,))


def send(rig: Rig, body: bytes, headers: dict[str, str]) -> httpx.Response:
    url = f"{rig.console}/api/public/integrations/slack/events"
    return httpx.post(url, content=body, headers=headers | {"Content-Type": "application/json"}, timeout=30)


def signed(team: str) -> tuple[bytes, dict[str, str]]:
    body = slack_body({"type": "app_uninstalled"}, team=team)
    return body, app_events.slack_headers(body, app_events.now())


def test_redis_down_is_a_503_and_the_retry_is_acted_on(rig: Rig) -> None:
    team, integration = planted(rig, "Customer Support")
    body, headers = signed(team)
    rig.redis.stop()
    assert send(rig, body, headers).status_code == 503
    assert status(rig, integration) == [("active", None)]
    rig.redis.start()
    assert send(rig, body, headers).status_code == 200
    assert status(rig, integration) == [("needs_reconnect", "uninstalled_by_provider"), ("status_changed",)]


def test_postgres_down_is_a_503_and_gives_the_claim_back(rig: Rig) -> None:
    team, integration = planted(rig, "Onboarding")
    body, headers = signed(team)
    rig.postgres.stop()
    assert send(rig, body, headers).status_code == 503
    rig.postgres.start()
    assert status(rig, integration) == [("active", None)]
    assert send(rig, body, headers).status_code == 200  # the same call again: not taken for a replay
    assert status(rig, integration) == [("needs_reconnect", "uninstalled_by_provider"), ("status_changed",)]
    assert "Traceback" not in rig.log_text()
