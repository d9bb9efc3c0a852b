"""The Activity panel's handlers against the real console (prod build) through a raw socket.io client.

The owner sees the integration's deliveries, opens one's attempts and resends it (the control); another
tenant pointing the page at the same project, or nobody signed in, sees none of it and changes nothing.
test_reflex_handlers.py also sweeps these handlers with hostile arguments.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.utils.events import Place, integration_of, ticket_event
from tests.utils.identities import identity, project_id, token_for
from tests.utils.reflex_client import ReflexClient
from tms_console import tms_console  # noqa: F401  (registers every state and handler)
from tms_console.settings import clear_settings_cache
from tms_console.state.activity import ActivityState
from tms_console.state.integrations import IntegrationsState

clear_settings_cache()

PROJECT = project_id("Acme", "Billing Desk")
PAGE = {"pathname": f"/projects/{PROJECT}/integrations", "asPath": f"/projects/{PROJECT}/integrations"}
ACTIVITY = ActivityState.get_full_name()
LOAD = IntegrationsState.get_full_name() + ".load"


@pytest.fixture(scope="module")
def planted(console: dict[str, str], database_url: str) -> Iterator[dict[str, str]]:
    """A webhook on Acme's "Billing Desk" with one failed delivery whose subject is a marker."""
    marker = "MARK" + secrets.token_hex(6)
    tenant = identity().tenant_id
    event = ticket_event()
    event["ticket"]["subject"] = f"Refund for {marker}"
    with integration_of(database_url, Place(tenant, PROJECT), "webhook") as (db, integration):
        event_row, delivery = uuid.uuid4(), uuid.uuid4()
        db.execute(
            "INSERT INTO ticket_events (id, tenant_id, project_id, event_id, type, payload, answer) "
            "VALUES (%s, %s, %s, %s, %s, %s, '{}')",
            (event_row, tenant, PROJECT, event["id"], event["type"], Jsonb(event)),
        )
        db.execute(
            "INSERT INTO deliveries (id, ticket_event_id, tenant_id, project_id, integration_id, "
            "integration_type, status, attempts, last_reason) "
            "VALUES (%s, %s, %s, %s, %s, 'webhook', 'failed', 1, 'rejected')",
            (delivery, event_row, tenant, PROJECT, integration),
        )
        db.execute(
            "INSERT INTO delivery_attempts (id, delivery_id, attempt, started_at, duration_ms, outcome, "
            "http_status, reason) VALUES (gen_random_uuid(), %s, 1, now(), 12, 'rejected', 400, 'rejected')",
            (delivery,),
        )
        yield {"marker": marker, "delivery": str(delivery), "event": str(event_row)}
        db.execute("DELETE FROM ticket_events WHERE id = %s", (event_row,))


def deliveries_of(db: psycopg.Connection, event: str) -> list[tuple[Any, ...]]:
    return db.execute("SELECT id, status FROM deliveries WHERE ticket_event_id = %s", (event,)).fetchall()


async def test_another_tenant_or_nobody_sees_and_changes_nothing(
    console: dict[str, str], planted: dict[str, str], db: psycopg.Connection
) -> None:
    before = deliveries_of(db, planted["event"])
    for cookie in ("tms_session=" + token_for("Globex", "gary@globex.example"), None):
        async with ReflexClient(console["url"], cookie=cookie) as client:
            await client.call(LOAD, {}, PAGE)
            await client.call(ACTIVITY + ".open_activity", {"integration_type": "webhook"}, PAGE, settle=1)
            await client.call(
                ACTIVITY + ".toggle_attempts", {"delivery_id": planted["delivery"]}, PAGE, settle=1
            )
            await client.call(
                ACTIVITY + ".resend_delivery", {"delivery_id": planted["delivery"]}, PAGE, settle=1
            )
            await client.call(ACTIVITY + ".retry_failed", {}, PAGE, settle=1)
            text = client.text()
            view = ReflexClient.state(client.frames, ACTIVITY)
        assert planted["marker"] not in text and "Refund for" not in text
        assert (
            view.get("activity_rows_rx_state_", []) == [] and view.get("opened_attempts_rx_state_", []) == []
        )
        if cookie is None:
            assert set(ReflexClient.redirects(client.frames)) == {"/login"}
        else:
            assert "does not exist" in view["activity_error_rx_state_"]  # the project is not Gary's
    assert deliveries_of(db, planted["event"]) == before


async def test_the_owner_sees_the_attempts_and_resends(
    console: dict[str, str], planted: dict[str, str], db: psycopg.Connection
) -> None:
    """Control for the test above: the same events with Alice's session show and change things."""
    async with ReflexClient(console["url"], cookie="tms_session=" + token_for()) as alice:
        await alice.call(LOAD, {}, PAGE)
        frames = await alice.call(
            ACTIVITY + ".open_activity", {"integration_type": "webhook"}, PAGE, settle=1
        )
        rows = ReflexClient.state(frames, ACTIVITY)["activity_rows_rx_state_"]
        assert [(r["id"], r["status"], r["can_resend"]) for r in rows] == [
            (planted["delivery"], "failed", True)
        ]
        assert planted["marker"] in rows[0]["ticket"] and "refused the message" in rows[0]["explanation"]
        frames = await alice.call(
            ACTIVITY + ".toggle_attempts", {"delivery_id": planted["delivery"]}, PAGE, settle=1
        )
        [attempt] = ReflexClient.state(frames, ACTIVITY)["opened_attempts_rx_state_"]
        assert (attempt["outcome"], attempt["http_status"], attempt["duration"]) == (
            "rejected",
            "400",
            "12 ms",
        )
        frames = await alice.call(
            ACTIVITY + ".resend_delivery", {"delivery_id": planted["delivery"]}, PAGE, settle=1
        )
        view = ReflexClient.state(frames, ACTIVITY)
        assert "Queued again" in view["activity_notice_rx_state_"]
        assert [r["status"] for r in view["activity_rows_rx_state_"]] == ["pending", "failed"]
    assert sorted(status for _, status in deliveries_of(db, planted["event"])) == ["failed", "pending"]
