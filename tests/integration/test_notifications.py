"""Admin notifications with the real worker process: the integration a tenant's admin chose is told once per
status transition (to needs_reconnect, disabled or degraded), never once per check that finds the same
state, never about itself; the setting takes only the tenant's own integrations that can carry a notice.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.integration.test_audit_log import token
from tests.utils.deliveries import add_webhook, received, wait_for
from tests.utils.events import Place, add_integration, new_place
from tests.utils.live import run_in_thread
from tms_console.domain.status import IntegrationStatus
from tms_console.persistence.db import dispose_engine
from tms_console.services import lifecycle

NOTICES = "SELECT status FROM procrastinate_jobs WHERE task_name = 'notify' AND args->>'tenant_id' = %s"


def transition(integration: uuid.UUID, to: IntegrationStatus, reason: str) -> bool:
    """A status transition as a health check makes it, in this process (its own unit of work)."""
    changed: list[bool] = []

    async def call() -> None:
        try:
            changed.append(
                await lifecycle.transition_now(integration, to, reason, actor=lifecycle.SYSTEM_HEALTH)
            )
        finally:
            await dispose_engine()

    run_in_thread(lambda: asyncio.run(call()))
    return changed[0]


def choose(live_url: str, place: Place, integration: object, role: str = "admin") -> httpx.Response:
    return httpx.put(
        f"{live_url}/v1/tenants/{place.tenant_id}/notifications",
        json={"integration_id": str(integration) if integration else None},
        headers={"Authorization": f"Bearer {token(place.tenant_id, role)}"},
        timeout=20,
    )


def notices(sandbox_url: str, endpoint: str) -> list[dict[str, Any]]:
    return [json.loads(record["body"]) for record in received(sandbox_url, endpoint)]


def test_one_notice_per_transition_never_per_check(
    live_url: str, sandbox_url: str, worker: Path, place: Place, db: psycopg.Connection
) -> None:
    endpoint = "notify-" + uuid.uuid4().hex
    told, _ = add_webhook(db, place, f"{sandbox_url}/sandbox/webhook/receive/{endpoint}")
    slack = add_integration(db, place, "slack")
    chosen = choose(live_url, place, told)
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["integration_id"] == str(told)
    assert {o["label"] for o in chosen.json()["options"]} == {"Webhook · Intake", "Slack · Intake"}

    assert transition(slack, IntegrationStatus.NEEDS_RECONNECT, "token_revoked")
    assert not transition(slack, IntegrationStatus.NEEDS_RECONNECT, "token_revoked")  # the next check: same
    assert transition(slack, IntegrationStatus.ACTIVE, "recovered")  # not news
    assert transition(slack, IntegrationStatus.DEGRADED, "server_error")
    assert not transition(slack, IntegrationStatus.DEGRADED, "server_error")
    # Exactly two jobs were queued, in the transitions' own transactions; both arrive.
    wait_for(db, NOTICES, (str(place.tenant_id),), lambda rows: [r[0] for r in rows] == ["succeeded"] * 2)
    locks = db.execute(
        "SELECT DISTINCT lock FROM procrastinate_jobs WHERE task_name = 'notify' AND args->>'tenant_id' = %s",
        (str(place.tenant_id),),
    ).fetchall()
    assert locks == [(f"notify:{place.tenant_id}",)]
    # Under the tenant's lock, in the order the transitions happened.
    texts = [body["text"] for body in notices(sandbox_url, endpoint)]
    assert texts == [
        "Integration Slack of project Intake needs reconnecting: "
        "The Slack token was revoked. Reconnect Slack.",
        "Integration Slack of project Intake is failing to deliver: The receiving server had an error (5xx). "
        "It is tried again later. Open Activity to see the failing deliveries.",
    ]
    assert all(body["type"] == "console.notice" for body in notices(sandbox_url, endpoint))


def test_the_notify_target_is_never_told_about_itself(
    live_url: str, sandbox_url: str, worker: Path, place: Place, db: psycopg.Connection
) -> None:
    endpoint = "notify-" + uuid.uuid4().hex
    told, _ = add_webhook(db, place, f"{sandbox_url}/sandbox/webhook/receive/{endpoint}")
    assert choose(live_url, place, told).status_code == 200
    assert transition(told, IntegrationStatus.DISABLED, "endpoint_gone")
    assert db.execute(NOTICES, (str(place.tenant_id),)).fetchall() == []
    assert choose(live_url, place, None).json()["integration_id"] is None


def test_only_an_admin_chooses_and_only_the_tenants_own_integrations(
    live_url: str, place: Place, db: psycopg.Connection
) -> None:
    own = add_integration(db, place, "webhook")
    whatsapp = add_integration(db, place, "whatsapp")  # cannot carry a notice
    stranger = new_place(db)
    theirs = add_integration(db, stranger, "slack")
    assert choose(live_url, place, own, role="agent").status_code == 403
    for refused in (theirs, whatsapp, uuid.uuid4(), "not-an-id"):
        answer = choose(live_url, place, refused)
        assert answer.status_code == 404, (refused, answer.text)
    assert (
        db.execute("SELECT 1 FROM tenant_settings WHERE tenant_id = %s", (place.tenant_id,)).fetchone()
        is None
    )
    into_victim = httpx.get(
        f"{live_url}/v1/tenants/{stranger.tenant_id}/notifications",
        headers={"Authorization": f"Bearer {token(place.tenant_id)}"},
        timeout=20,
    )
    assert into_victim.status_code == 404
    assert choose(live_url, place, own).status_code == 200
    db.execute("DELETE FROM project_integrations WHERE id = %s", (own,))  # an uninstall clears the choice
    assert db.execute(
        "SELECT notify_integration_id FROM tenant_settings WHERE tenant_id = %s", (place.tenant_id,)
    ).fetchone() == (None,)
