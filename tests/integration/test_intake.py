"""Ticket event intake over real HTTP and Postgres: answers, idempotency, roles, tenancy, queued jobs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from tests.utils.events import Place, add_integration, new_place, service_token, ticket_event
from tests.utils.identities import project_id, token_for
from tms_console.domain.events import EVENT_TYPES


@pytest.fixture
def client(live_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_url, timeout=20) as http:
        yield http


@pytest.fixture
def place(db: psycopg.Connection) -> Place:
    return new_place(db)


def post(client: httpx.Client, place: Place, body: Any, *, token: str | None = None) -> httpx.Response:
    return client.post(place.path, json=body, headers={"Authorization": f"Bearer {token or place.token()}"})


def stored(db: psycopg.Connection, place: Place) -> dict[str, Any]:
    """Everything the intake keeps for the place: events, deliveries and their queued jobs."""
    events = db.execute(
        "SELECT event_id, type, payload, answer FROM ticket_events WHERE tenant_id = %s ORDER BY received_at",
        (place.tenant_id,),
    ).fetchall()
    deliveries = db.execute(
        "SELECT d.id, d.integration_id, d.integration_type, d.status, d.attempts, e.event_id "
        "FROM deliveries d JOIN ticket_events e ON e.id = d.ticket_event_id "
        "WHERE d.tenant_id = %s ORDER BY d.created_at, d.integration_type",
        (place.tenant_id,),
    ).fetchall()
    ids = [str(row[0]) for row in deliveries]
    jobs = db.execute(
        "SELECT args->>'delivery_id', queue_name, task_name, lock, status::text FROM procrastinate_jobs "
        "WHERE args->>'delivery_id' = ANY(%s) ORDER BY id",
        (ids,),
    ).fetchall()
    return {"events": events, "deliveries": deliveries, "jobs": jobs}


def test_an_event_is_stored_with_one_delivery_and_one_job_per_integration_that_wants_it(
    client: httpx.Client, db: psycopg.Connection, place: Place
) -> None:
    slack = add_integration(db, place, "slack")  # no choice stored: every type
    webhook = add_integration(db, place, "webhook", events=["ticket.created", "ticket.resolved"])
    add_integration(db, place, "discord", events=["ticket.assigned"])  # does not want ticket.created
    add_integration(db, place, "telegram", status="disabled")
    body = ticket_event("ticket.created", ticket_id="T-9")

    answer = post(client, place, body)

    assert answer.status_code == 202, answer.text
    assert answer.json() == {"event_id": body["id"], "deliveries": 2}
    kept = stored(db, place)
    [(event_id, kind, payload, first_answer)] = kept["events"]
    assert (event_id, kind, first_answer) == (body["id"], "ticket.created", answer.json())
    assert payload["ticket"]["subject"] == "Printer on fire" and payload["ticket"]["id"] == "T-9"
    assert {(row[1], row[2], row[3], row[4]) for row in kept["deliveries"]} == {
        (slack, "slack", "pending", 0),
        (webhook, "webhook", "pending", 0),
    }
    by_delivery = {str(row[0]): row[1] for row in kept["deliveries"]}
    assert sorted(kept["jobs"]) == sorted(
        (delivery, "deliveries", "deliver", f"delivery:{integration}:T-9", "todo")
        for delivery, integration in by_delivery.items()
    )


def test_events_of_one_ticket_share_a_lock_per_integration_and_other_tickets_do_not(
    client: httpx.Client, db: psycopg.Connection, place: Place
) -> None:
    slack = add_integration(db, place, "slack")
    for event_type, ticket in [("ticket.created", "A"), ("ticket.assigned", "A"), ("ticket.created", "B")]:
        assert post(client, place, ticket_event(event_type, ticket_id=ticket)).status_code == 202
    locks = [job[3] for job in stored(db, place)["jobs"]]
    assert locks == [f"delivery:{slack}:A", f"delivery:{slack}:A", f"delivery:{slack}:B"]


def test_a_project_without_integrations_answers_zero_deliveries(
    client: httpx.Client, db: psycopg.Connection, place: Place
) -> None:
    body = ticket_event("ticket.resolved")
    answer = post(client, place, body)
    assert (answer.status_code, answer.json()) == (202, {"event_id": body["id"], "deliveries": 0})
    kept = stored(db, place)
    assert len(kept["events"]) == 1 and kept["deliveries"] == [] and kept["jobs"] == []


def test_the_same_event_id_answers_the_first_answer_and_stores_nothing_twice(
    client: httpx.Client, db: psycopg.Connection, place: Place
) -> None:
    add_integration(db, place, "slack")
    body = ticket_event("ticket.commented")
    first = post(client, place, body)
    add_integration(db, place, "webhook")  # would make it 2 deliveries, were the event new
    again = post(client, place, body | {"type": "ticket.resolved"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() == {"event_id": body["id"], "deliveries": 1}
    kept = stored(db, place)
    assert [row[1] for row in kept["events"]] == ["ticket.commented"]
    assert len(kept["deliveries"]) == len(kept["jobs"]) == 1


def test_concurrent_posts_of_one_event_store_it_once(
    client: httpx.Client, db: psycopg.Connection, place: Place
) -> None:
    add_integration(db, place, "slack")
    add_integration(db, place, "discord")
    body = ticket_event("ticket.created")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(client, place, body), range(8)))
    assert {(a.status_code, json.dumps(a.json())) for a in answers} == {
        (202, json.dumps({"event_id": body["id"], "deliveries": 2}))
    }
    kept = stored(db, place)
    assert (len(kept["events"]), len(kept["deliveries"]), len(kept["jobs"])) == (1, 2, 2)


def test_an_unknown_type_is_422_naming_the_allowed_types_and_stores_nothing(
    client: httpx.Client, db: psycopg.Connection, place: Place
) -> None:
    add_integration(db, place, "slack")
    answer = post(client, place, ticket_event("ticket.exploded"))
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["loc"] == ["body", "type"]
    for allowed in EVENT_TYPES:
        assert allowed in error["msg"]
    assert stored(db, place) == {"events": [], "deliveries": [], "jobs": []}


def test_missing_and_wrong_fields_are_422_with_their_paths(
    client: httpx.Client, db: psycopg.Connection, place: Place
) -> None:
    body = ticket_event(occurred_at="yesterday")
    del body["ticket"]["subject"]
    body["ticket"]["number"] = "many"
    del body["id"]
    answer = post(client, place, body)
    assert answer.status_code == 422
    paths = {tuple(error["loc"]) for error in answer.json()["detail"]}
    assert paths == {
        ("body", "id"),
        ("body", "occurred_at"),
        ("body", "ticket", "subject"),
        ("body", "ticket", "number"),
    }
    headers = {"Authorization": f"Bearer {place.token()}", "Content-Type": "application/json"}
    for raw in (b"{", b"[" * 60000, b'"just a string"'):  # broken, nested past any parser, not an object
        answer = client.post(place.path, content=raw, headers=headers)
        assert answer.status_code in (400, 422), (raw[:20], answer.status_code)
    bad = ticket_event()
    bad["ticket"]["url"] = "javascript:alert(1)"
    assert [e["loc"] for e in post(client, place, bad).json()["detail"]] == [["body", "ticket", "url"]]
    assert stored(db, place)["events"] == []


def test_text_postgres_cannot_store_is_kept_as_replacement_characters(
    client: httpx.Client, db: psycopg.Connection, place: Place
) -> None:
    body = ticket_event(id="nul\x00id", changes={"note\x00": ["lone \ud800 surrogate"]})
    body["ticket"]["subject"] = "nul\x00byte"
    raw = json.dumps(body).encode()  # ASCII escapes: \u0000 and \ud800 reach the server as JSON text
    headers = {"Authorization": f"Bearer {place.token()}", "Content-Type": "application/json"}
    for _ in range(2):  # and the same id again is still the same event
        answer = client.post(place.path, content=raw, headers=headers)
        assert (answer.status_code, answer.json()) == (202, {"event_id": "nul\ufffdid", "deliveries": 0})
    [(event_id, _, payload, _)] = stored(db, place)["events"]
    assert event_id == "nul\ufffdid" and payload["ticket"]["subject"] == "nul\ufffdbyte"
    assert payload["changes"] == {"note\ufffd": ["lone \ufffd surrogate"]}


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_64_kib_is_413_before_parsing(
    client: httpx.Client, db: psycopg.Connection, place: Place, chunked: bool
) -> None:
    add_integration(db, place, "slack")
    body = ticket_event(changes={"note": "x" * 64 * 1024})
    raw = json.dumps(body).encode()
    content: Any = iter([raw[:1000], raw[1000:]]) if chunked else raw
    answer = client.post(
        place.path,
        content=content,
        headers={"Authorization": f"Bearer {place.token()}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert stored(db, place)["events"] == []
    # Just under the limit is accepted: the limit is the size, not the shape.
    body["changes"]["note"] = ""
    body["changes"]["note"] = "x" * (64 * 1024 - len(json.dumps(body).encode()))
    exactly = json.dumps(body).encode()
    assert len(exactly) == 64 * 1024
    accepted = client.post(
        place.path,
        content=exactly,
        headers={"Authorization": f"Bearer {place.token()}", "Content-Type": "application/json"},
    )
    assert accepted.status_code == 202, accepted.text


def test_people_may_not_post_events_and_services_may_not_use_the_console(
    client: httpx.Client, db: psycopg.Connection, place: Place
) -> None:
    for role in ("agent", "admin"):
        answer = post(client, place, ticket_event(), token=place.token(role))
        assert (answer.status_code, answer.json()) == (403, {"detail": "not allowed"}), role
    assert post(client, place, ticket_event(), token="not-a-jwt").status_code == 401
    assert client.post(place.path, json=ticket_event()).status_code == 401
    # The service token reaches nothing else: not the agents' API, not a console session.
    service = {"Authorization": f"Bearer {service_token('Acme')}"}
    integrations = f"/v1/tenants/{uuid.UUID(int=0)}/projects/{project_id()}/integrations"
    assert client.get(integrations, headers=service).status_code == 403
    assert client.post("/api/session", headers=service).status_code == 403
    assert stored(db, place)["events"] == []


def test_another_tenants_project_is_404_and_stores_nothing(
    client: httpx.Client, db: psycopg.Connection, place: Place
) -> None:
    add_integration(db, place, "slack")
    other = new_place(db)
    as_other = other.token()
    to_their_project = Place(other.tenant_id, place.project_id)  # own tenant id, someone else's project
    for target in (place, to_their_project):
        answer = post(client, target, ticket_event(), token=as_other)
        assert (answer.status_code, answer.json()["reason"]) == (404, "not_found")
    assert stored(db, place)["events"] == [] and stored(db, other)["events"] == []
    # An agent's own demo project is no way in either.
    assert post(client, place, ticket_event(), token=token_for()).status_code == 403


def test_an_event_id_is_unique_per_tenant_across_projects(
    client: httpx.Client, db: psycopg.Connection, place: Place
) -> None:
    body = ticket_event()
    assert post(client, place, body).status_code == 202
    db.execute(
        "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, 'Second')",
        (second := uuid.uuid4(), place.tenant_id),
    )
    answer = post(client, Place(place.tenant_id, second), body)
    assert (answer.status_code, answer.json()["reason"]) == (409, "invalid_input")
    other_tenant = new_place(db)  # the same id in another tenant is another event
    assert post(client, other_tenant, body).json() == {"event_id": body["id"], "deliveries": 0}


def test_the_event_body_has_a_json_schema_in_openapi(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/tenants/{tenant_id}/projects/{project_id}/events"]["post"]
    reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    event = schema["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert set(event["required"]) == {"id", "type", "occurred_at", "ticket"}
    assert event["properties"]["type"]["enum"] == list(EVENT_TYPES)
    ticket = schema["components"]["schemas"]["Ticket"]
    assert set(ticket["properties"]) == {
        "id",
        "number",
        "subject",
        "status",
        "priority",
        "requester",
        "assignee",
        "url",
    }
    assert {"202", "403", "404", "413", "422"} <= set(operation["responses"])
