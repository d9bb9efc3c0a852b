"""Which ticket event types an integration receives, over real HTTP: GET and PUT `.../{type}/events`.

Every type by default; a choice is stored in the row's meta, audited, obeyed by the intake, kept by a
reconnect; bad input is a clear 422 that changes nothing; another tenant and the TMS backend's token get
nowhere.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest

from devtools.seed import demo_id
from tests.integration.test_connect_flows import new_bot
from tests.utils.events import Place, add_integration, new_place, ticket_event
from tests.utils.identities import token_for
from tms_console.domain.events import EVENT_TYPES
from tms_console.security.identity import Identity, issue_token
from tms_console.settings import get_settings


@pytest.fixture
def place(db: psycopg.Connection) -> Place:
    return new_place(db)


def agent(place: Place) -> dict[str, str]:
    una = Identity("una", "Una Agent", place.tenant_id, "agent")
    return {"Authorization": f"Bearer {issue_token(una, get_settings())}"}


def events_url(place: Place, kind: str, tenant: object = None) -> str:
    tenant = tenant or place.tenant_id
    return f"/v1/tenants/{tenant}/projects/{place.project_id}/integrations/{kind}/events"


def meta(db: psycopg.Connection, integration: uuid.UUID) -> dict[str, Any]:
    return db.execute("SELECT meta FROM project_integrations WHERE id = %s", (integration,)).fetchone()[0]


def audit(db: psycopg.Connection, place: Place) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT action, reason, actor_id, actor_name, integration_type FROM integration_events "
        "WHERE project_id = %s ORDER BY created_at",
        (place.project_id,),
    ).fetchall()


def post_event(live_url: str, place: Place, event_type: str) -> int:
    answer = httpx.post(
        live_url + place.path,
        json=ticket_event(event_type),
        headers={"Authorization": f"Bearer {place.token()}"},
    )
    assert answer.status_code == 202, answer.text
    return int(answer.json()["deliveries"])


def test_a_choice_is_stored_audited_and_obeyed_by_the_intake(
    live_url: str, db: psycopg.Connection, place: Place
) -> None:
    slack = add_integration(db, place, "slack")
    add_integration(db, place, "discord")
    with httpx.Client(base_url=live_url, headers=agent(place)) as api:
        assert api.get(events_url(place, "slack")).json() == {"events": list(EVENT_TYPES)}
        assert post_event(live_url, place, "ticket.commented") == 2  # every type by default

        chosen = api.put(events_url(place, "slack"), json={"events": ["ticket.resolved", "ticket.created"]})
        assert chosen.status_code == 200, chosen.text
        assert chosen.json() == {"events": ["ticket.created", "ticket.resolved"]}
        assert meta(db, slack)["events"] == ["ticket.created", "ticket.resolved"]
        assert api.get(events_url(place, "slack")).json() == chosen.json()
        assert audit(db, place) == [("events_changed", "events_changed", "una", "Una Agent", "slack")]

        assert post_event(live_url, place, "ticket.commented") == 1  # only Discord still wants comments
        assert post_event(live_url, place, "ticket.resolved") == 2

        every = api.put(events_url(place, "slack"), json={"events": list(reversed(EVENT_TYPES))})
        assert every.json() == {"events": list(EVENT_TYPES)}
        assert "events" not in meta(db, slack)  # all of them: types added later reach it too
        assert post_event(live_url, place, "ticket.commented") == 2


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"events": []}, "pick at least one event type; to stop every message, uninstall the integration"),
        ({"events": ["ticket.created", "ticket.exploded"]}, "'ticket.created', 'ticket.assigned'"),
        ({"events": "ticket.created"}, "valid list"),
        ({"events": [None]}, "Input should be"),
        ({}, "Field required"),
        ({"events": ["ticket.created"] * 13}, "at most 12"),
    ],
    ids=["empty", "unknown-type", "not-a-list", "null", "missing", "too-long"],
)
def test_bad_input_is_a_clear_422_and_changes_nothing(
    live_url: str, db: psycopg.Connection, place: Place, body: dict[str, Any], words: str
) -> None:
    slack = add_integration(db, place, "slack", events=["ticket.created"])
    with httpx.Client(base_url=live_url, headers=agent(place)) as api:
        answer = api.put(events_url(place, "slack"), json=body)
    assert answer.status_code == 422, answer.text
    assert words in answer.text
    assert meta(db, slack) == {"events": ["ticket.created"]} and audit(db, place) == []


def test_another_tenant_the_backend_and_missing_integrations_get_nowhere(
    live_url: str, db: psycopg.Connection, place: Place
) -> None:
    slack = add_integration(db, place, "slack", events=["ticket.created"])
    choice = {"events": ["ticket.resolved"]}
    gary = {"Authorization": f"Bearer {token_for('Globex', 'gary@globex.example')}"}
    with httpx.Client(base_url=live_url) as api:
        for tenant in (
            place.tenant_id,
            demo_id("Globex"),
        ):  # the other tenant's project, under either tenant id
            assert api.put(events_url(place, "slack", tenant), json=choice, headers=gary).status_code == 404
            assert api.get(events_url(place, "slack", tenant), headers=gary).status_code == 404
        backend = {"Authorization": f"Bearer {place.token()}"}  # the TMS's service token posts events only
        assert api.put(events_url(place, "slack"), json=choice, headers=backend).status_code == 403
        assert api.put(events_url(place, "slack"), json=choice).status_code == 401
        own = agent(place)
        assert (
            api.put(events_url(place, "discord"), json=choice, headers=own).status_code == 404
        )  # not installed
        assert api.put(events_url(place, "nope"), json=choice, headers=own).status_code == 404
        assert api.put(events_url(place, "slack"), json=choice, headers=own).status_code == 200  # control
    assert meta(db, slack) == {"events": ["ticket.resolved"]}
    assert [a[0] for a in audit(db, place)] == ["events_changed"]


def test_a_reconnect_keeps_the_choice(live_url: str, db: psycopg.Connection, place: Place) -> None:
    with httpx.Client(base_url=live_url, headers=agent(place), timeout=20) as api:
        base = f"/v1/tenants/{place.tenant_id}/projects/{place.project_id}/integrations/telegram"
        bot = new_bot(api)
        assert api.post(base, json={"bot_token": bot}).status_code == 200
        assert api.put(events_url(place, "telegram"), json={"events": ["ticket.resolved"]}).status_code == 200
        integration = db.execute(
            "SELECT id FROM project_integrations WHERE project_id = %s", (place.project_id,)
        ).fetchone()[0]
        assert api.post(base, json={"bot_token": bot}).status_code == 200  # the same bot, same row
        assert meta(db, integration)["events"] == ["ticket.resolved"]
        asked = api.post(base, json={"bot_token": new_bot(api)})  # another bot: replaced once confirmed
        assert asked.status_code == 409 and asked.json()["reason"] == "wrong_account"
        decision = {"replacement": asked.json()["replacement"], "replace": True}
        replaced = api.post(
            f"/v1/tenants/{place.tenant_id}/projects/{place.project_id}/replacement", json=decision
        )
        assert replaced.json() == {"result": "replaced"}
        assert meta(db, integration)["events"] == ["ticket.resolved"]
        assert api.get(events_url(place, "telegram")).json() == {"events": ["ticket.resolved"]}
        api.delete(base)
