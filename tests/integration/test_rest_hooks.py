"""REST Hooks (Zapier, Make) over real HTTP, Postgres and the worker process, posting to the sandbox's
webhook receiver: subscribe, receive signed events, filter, unsubscribe, 410, SSRF refusals, tenancy."""

from __future__ import annotations

import json
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from tests.utils.deliveries import SETTLED, add_delivery, add_webhook, received, run_deliver, wait_for
from tests.utils.events import Place, new_place, ticket_event
from tests.utils.live import free_port
from tms_console.domain.messages import Outcome
from tms_console.security import signing
from tms_console.security.keyring import configured_keyring, row_aad
from tms_console.services.rest_hooks import HOOK_EVENTS, MAX_HOOKS_PER_PROJECT


def hooks_url(live_url: str, place: Place) -> str:
    return f"{live_url}/v1/tenants/{place.tenant_id}/projects/{place.project_id}/hooks"


def agent(place: Place, role: str = "agent") -> dict[str, str]:
    return {"Authorization": f"Bearer {place.token(role)}"}


def receiver(sandbox_url: str, endpoint: str, status: int | None = None) -> str:
    return f"{sandbox_url}/sandbox/webhook/receive/{endpoint}" + (f"?status={status}" if status else "")


def subscribe(live_url: str, place: Place, target_url: str, event: str = "*") -> dict[str, Any]:
    answer = httpx.post(
        hooks_url(live_url, place), json={"target_url": target_url, "event": event}, headers=agent(place)
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def post_event(live_url: str, place: Place, **event: Any) -> tuple[dict[str, Any], int]:
    """Post a ticket event as the TMS does; the body and how many deliveries the answer counts."""
    body = ticket_event(**event)
    answer = httpx.post(live_url + place.path, json=body, headers=agent(place, "service"), timeout=20)
    assert answer.status_code == 202, answer.text
    return body, int(answer.json()["deliveries"])


def hook_deliveries(db: psycopg.Connection, hook_id: str, count: int = 1) -> list[tuple[Any, ...]]:
    """The hook's deliveries once `count` of them are delivered, failed or paused."""
    return wait_for(
        db,
        "SELECT id, status, attempts, last_reason, integration_type FROM deliveries "
        "WHERE integration_id = %s ORDER BY created_at",
        (hook_id,),
        lambda rows: len(rows) == count and all(row[1] in SETTLED for row in rows),
    )


def hook_rows(db: psycopg.Connection, place: Place) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT id, event, display_url FROM rest_hooks WHERE tenant_id = %s AND project_id = %s",
        (place.tenant_id, place.project_id),
    ).fetchall()


def audit(db: psycopg.Connection, hook_id: str) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT action, reason, actor_id FROM integration_events WHERE integration_id = %s "
        "ORDER BY created_at",
        (hook_id,),
    ).fetchall()


def test_a_subscribed_url_receives_each_event_signed_and_nothing_leaks(
    worker: Path,
    live_url: str,
    sandbox_url: str,
    db: psycopg.Connection,
    place: Place,
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = uuid.uuid4().hex  # stands for the secret path of a Zap's catch hook URL
    url = receiver(sandbox_url, endpoint)
    with caplog.at_level("DEBUG"):
        created = subscribe(live_url, place, url)
        body, counted = post_event(live_url, place, ticket_id="T-7")
        [(delivery_id, status, tries, _, kind)] = hook_deliveries(db, created["id"])
        listing = httpx.get(hooks_url(live_url, place), headers=agent(place, "admin"))

    assert created["event"] == "*" and created["secret"].startswith("whsec_") and counted == 1
    assert (status, tries, kind) == ("delivered", 1, "rest_hook")
    [record] = received(sandbox_url, endpoint)
    payload = Webhook(created["secret"]).verify(record["body"], record["headers"])  # as Zapier's side could
    assert payload == json.loads(record["body"]) and payload["id"] == body["id"]
    assert payload["type"] == "ticket.created" and payload["ticket"]["id"] == "T-7"
    assert record["headers"]["webhook-id"] == str(delivery_id)
    assert signing.verify(created["secret"], record["body"].encode(), record["headers"], now=time.time())
    # The listing shows the origin only; the URL's path and the secret are nowhere but the first answer.
    assert listing.status_code == 200
    [shown] = listing.json()["hooks"]
    assert shown["id"] == created["id"] and shown["event"] == "*" and shown["target"] == sandbox_url
    assert endpoint in url and endpoint not in listing.text and created["secret"] not in listing.text
    # What we store of the hook is sealed; the attempt log keeps the receiver's answer (which here
    # echoes its endpoint name, as no real receiver is asked to) but never the URL or the secret.
    own = db.execute(
        "SELECT h::text FROM rest_hooks h WHERE id = %s UNION ALL "
        "SELECT e::text FROM integration_events e WHERE integration_id = %s",
        (created["id"], created["id"]),
    ).fetchall()
    log_rows = db.execute("SELECT a::text FROM delivery_attempts a WHERE delivery_id = %s", (delivery_id,))
    attempts = str(log_rows.fetchall())
    assert len(own) == 2 and sandbox_url.removeprefix("http://") in str(own)  # the display origin
    assert endpoint not in str(own) and created["secret"] not in str(own) and "delivered" in attempts
    logs = caplog.text + worker.read_text()
    assert "rest_hook_subscribed" in caplog.text and "delivery_attempt type=rest_hook" in worker.read_text()
    for secret in (url, created["secret"], created["secret"].removeprefix("whsec_")):
        assert secret not in logs and secret not in attempts
    assert audit(db, created["id"]) == [("subscribed", "hook_subscribed", "tms-backend")]


def test_hooks_receive_only_their_event_and_count_in_the_idempotent_answer(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    resolved_only, everything = uuid.uuid4().hex, uuid.uuid4().hex
    resolved_hook = subscribe(live_url, place, receiver(sandbox_url, resolved_only), "ticket.resolved")
    all_hook = subscribe(live_url, place, receiver(sandbox_url, everything), "*")
    add_webhook(db, place, receiver(sandbox_url, uuid.uuid4().hex))  # an integration beside them

    created, first = post_event(live_url, place, event_type="ticket.created")
    again = httpx.post(live_url + place.path, json=created, headers=agent(place, "service"))
    _, second = post_event(live_url, place, event_type="ticket.resolved")

    assert (first, second) == (2, 3)
    assert again.status_code == 202 and again.json() == {"event_id": created["id"], "deliveries": 2}
    hook_deliveries(db, all_hook["id"], 2)
    hook_deliveries(db, resolved_hook["id"], 1)
    assert [json.loads(r["body"])["type"] for r in received(sandbox_url, resolved_only)] == [
        "ticket.resolved"
    ]
    types = sorted(json.loads(r["body"])["type"] for r in received(sandbox_url, everything))
    assert types == ["ticket.created", "ticket.resolved"]


def test_unsubscribing_stops_deliveries_and_drops_queued_ones(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    endpoint = uuid.uuid4().hex
    hook = subscribe(live_url, place, receiver(sandbox_url, endpoint))
    post_event(live_url, place)
    hook_deliveries(db, hook["id"])
    # Stored before the unsubscribe, not yet sent.
    queued = add_delivery(db, place, uuid.UUID(hook["id"]), ticket_event(), kind="rest_hook")

    gone = httpx.delete(f"{hooks_url(live_url, place)}/{hook['id']}", headers=agent(place))
    _, counted = post_event(live_url, place)

    assert gone.status_code == 204 and hook_rows(db, place) == [] and counted == 0
    assert httpx.get(hooks_url(live_url, place), headers=agent(place)).json() == {"hooks": []}
    assert run_deliver(queued) is None
    row = db.execute("SELECT status, last_reason FROM deliveries WHERE id = %s", (queued,)).fetchone()
    assert row is not None and tuple(row) == ("failed", "unsubscribed")
    assert len(received(sandbox_url, endpoint)) == 1
    assert [a[:2] for a in audit(db, hook["id"])] == [
        ("subscribed", "hook_subscribed"),
        ("unsubscribed", "hook_unsubscribed"),
    ]
    again = httpx.delete(f"{hooks_url(live_url, place)}/{hook['id']}", headers=agent(place))
    assert again.status_code == 404


def test_a_410_removes_the_subscription(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    endpoint = uuid.uuid4().hex
    hook = subscribe(live_url, place, receiver(sandbox_url, endpoint, 410))
    assert len(hook_rows(db, place)) == 1
    post_event(live_url, place)

    [(_, status, tries, reason, _)] = hook_deliveries(db, hook["id"])

    assert (status, tries, reason) == ("failed", 1, "gone")
    assert len(received(sandbox_url, endpoint)) == 1
    assert hook_rows(db, place) == []
    assert audit(db, hook["id"])[-1] == ("unsubscribed", "hook_gone", "delivery-worker")
    _, counted = post_event(live_url, place)
    assert counted == 0


@pytest.mark.parametrize("status", [401, 403])
def test_an_auth_refusal_fails_the_delivery_and_keeps_the_subscription(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place, status: int
) -> None:
    hook = subscribe(live_url, place, receiver(sandbox_url, uuid.uuid4().hex, status))
    post_event(live_url, place)

    [(_, state, tries, reason, _)] = hook_deliveries(db, hook["id"])

    assert (state, tries, reason) == ("failed", 1, "rejected")
    assert [row[0] for row in hook_rows(db, place)] == [uuid.UUID(hook["id"])]


def test_a_sealed_target_moved_to_another_hook_does_not_open(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    first = subscribe(live_url, place, receiver(sandbox_url, uuid.uuid4().hex))
    second = subscribe(live_url, place, receiver(sandbox_url, uuid.uuid4().hex))
    db.execute(
        "UPDATE rest_hooks SET key_id = o.key_id, nonce = o.nonce, ciphertext = o.ciphertext "
        "FROM rest_hooks o WHERE o.id = %s AND rest_hooks.id = %s",
        (first["id"], second["id"]),
    )
    queued = add_delivery(db, place, uuid.UUID(second["id"]), ticket_event(), kind="rest_hook")

    assert run_deliver(queued) is None
    row = db.execute("SELECT status, last_reason FROM deliveries WHERE id = %s", (queued,)).fetchone()
    assert row is not None and tuple(row) == ("failed", "credentials_unreadable")
    control = add_delivery(db, place, uuid.UUID(first["id"]), ticket_event(), kind="rest_hook")
    assert run_deliver(control) is Outcome.DELIVERED


def test_the_ssrf_guard_holds_at_delivery_time_too(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    hook = subscribe(live_url, place, receiver(sandbox_url, uuid.uuid4().hex))
    control = add_delivery(db, place, uuid.UUID(hook["id"]), ticket_event(), kind="rest_hook")
    assert run_deliver(control) is Outcome.DELIVERED
    # As if the stored name now resolved to a local address: the sealed URL points at loopback.
    aad = row_aad(
        tenant_id=place.tenant_id,
        project_id=place.project_id,
        integration_type="rest_hook",
        row_id=hook["id"],
    )
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0)
        local = f"https://127.0.0.1:{listener.getsockname()[1]}/hook"
        sealed = configured_keyring().seal({"url": local, "signing_secret": hook["secret"]}, aad=aad)
        db.execute(
            "UPDATE rest_hooks SET key_id = %s, nonce = %s, ciphertext = %s WHERE id = %s",
            (sealed.key_id, sealed.nonce, sealed.ciphertext, hook["id"]),
        )
        queued = add_delivery(db, place, uuid.UUID(hook["id"]), ticket_event(), kind="rest_hook")

        assert run_deliver(queued) is Outcome.REJECTED
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing connected
    row = db.execute("SELECT status, last_reason FROM deliveries WHERE id = %s", (queued,)).fetchone()
    assert row is not None and tuple(row) == ("failed", "destination_refused")


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("https://127.0.0.1:{port}/hook", "loopback"),
        ("https://localhost:{port}/hook", "loopback"),
        ("https://10.0.0.7/hook", "private"),
        ("https://169.254.169.254/latest", "metadata"),
        ("http://203.0.113.10/hook", "https://"),
        ("http://127.0.0.1:{port}/sandbox/webhook/receive/x", "https://"),  # not the sandbox's own port
        ("https://user:pw@203.0.113.10/hook", "user name"),
    ],
    ids=["loopback-ip", "localhost", "private", "metadata", "plain-http", "other-local-port", "userinfo"],
)
def test_urls_the_ssrf_rules_refuse_are_400_and_store_nothing(
    live_url: str, db: psycopg.Connection, place: Place, target: str, says: str
) -> None:
    answer = httpx.post(
        hooks_url(live_url, place),
        json={"target_url": target.format(port=free_port()), "event": "*"},
        headers=agent(place),
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["reason"] == "invalid_input" and says in answer.json()["detail"]
    assert hook_rows(db, place) == []
    events = db.execute("SELECT count(*) FROM integration_events WHERE tenant_id = %s", (place.tenant_id,))
    assert events.fetchone() == (0,)


def test_bad_bodies_are_422_naming_the_field_and_the_allowed_events(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    url = receiver(sandbox_url, "x")
    unknown = httpx.post(
        hooks_url(live_url, place), json={"target_url": url, "event": "nope"}, headers=agent(place)
    )
    missing = httpx.post(hooks_url(live_url, place), json={"event": "*"}, headers=agent(place))

    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "event"]
    assert all(event in unknown.text for event in HOOK_EVENTS)
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "target_url"]
    assert hook_rows(db, place) == []


def test_a_project_holds_at_most_the_cap(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    for _ in range(MAX_HOOKS_PER_PROJECT - 1):
        db.execute(
            "INSERT INTO rest_hooks (id, tenant_id, project_id, event, display_url, key_id, nonce, "
            "ciphertext) VALUES (%s, %s, %s, '*', 'https://example.com', 'k', '\\x00', '\\x00')",
            (uuid.uuid4(), place.tenant_id, place.project_id),
        )
    subscribe(live_url, place, receiver(sandbox_url, "last"))

    over = httpx.post(
        hooks_url(live_url, place),
        json={"target_url": receiver(sandbox_url, "over"), "event": "*"},
        headers=agent(place),
    )

    assert over.status_code == 409 and over.json()["reason"] == "too_many_hooks"
    assert len(hook_rows(db, place)) == MAX_HOOKS_PER_PROJECT


def test_other_tenants_hooks_are_not_found_and_services_may_not_subscribe(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    other = new_place(db)
    theirs = subscribe(live_url, other, receiver(sandbox_url, uuid.uuid4().hex))
    body = {"target_url": receiver(sandbox_url, "mine"), "event": "*"}
    mine_path = hooks_url(live_url, place)
    # Their tenant in the URL, their project under my tenant, their hook under my project: all 404.
    their_path = hooks_url(live_url, other)
    crossed = f"{live_url}/v1/tenants/{place.tenant_id}/projects/{other.project_id}/hooks"
    for path in (their_path, crossed):
        assert httpx.post(path, json=body, headers=agent(place)).status_code == 404
        assert httpx.get(path, headers=agent(place)).status_code == 404
        assert httpx.delete(f"{path}/{theirs['id']}", headers=agent(place)).status_code == 404
    assert httpx.delete(f"{mine_path}/{theirs['id']}", headers=agent(place)).status_code == 404
    assert httpx.delete(f"{mine_path}/not-a-uuid", headers=agent(place)).status_code == 404
    assert [str(row[0]) for row in hook_rows(db, other)] == [theirs["id"]]
    assert httpx.get(mine_path, headers=agent(place)).json() == {"hooks": []}
    # The TMS backend's service token posts events only; no token is no access.
    assert httpx.post(mine_path, json=body, headers=agent(place, "service")).status_code == 403
    assert httpx.get(mine_path).status_code == 401
    assert hook_rows(db, place) == []
