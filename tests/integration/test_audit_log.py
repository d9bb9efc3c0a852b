"""The audit trail over real HTTP and Postgres: what people's actions record (with where they came from),
the tenant admin's listing (filters, keyset paging), the CSV export (every row, injection-safe), and
tenancy (agents are refused; another tenant's ids answer like random ones and show nothing).

Listings and exports read events planted with chosen times in a tenant of the test's own; the actions
are done for real through the REST API against the sandbox providers.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from devtools.seed import demo_id
from tests.integration.test_connect_flows import add_to_chat, new_bot
from tests.integration.test_oauth_providers import base
from tests.utils.deliveries import add_delivery
from tests.utils.events import Place, new_place, ticket_event
from tests.utils.identities import identity, project_id
from tests.utils.live import sandbox_origin
from tms_console.security.identity import Identity, issue_token
from tms_console.services.audit_log import CSV_COLUMNS, EXPORT_BATCH
from tms_console.settings import get_settings

NOW = datetime.now(UTC).replace(microsecond=0)
AGENT = "audit-test/1.0 (integration)"


def token(tenant_id: uuid.UUID, role: str = "admin", user: str = "u-uma", name: str = "Uma Admin") -> str:
    return issue_token(Identity(user, name, tenant_id, role), get_settings())  # type: ignore[arg-type]


class Audit:
    """The audit routes as one person."""

    def __init__(self, live_url: str, tenant_id: uuid.UUID | str, bearer: str) -> None:
        self.url = f"{live_url}/v1/tenants/{tenant_id}/audit"
        self.headers = {"Authorization": f"Bearer {bearer}"}

    def get(self, **params: Any) -> httpx.Response:
        return httpx.get(self.url, params=params, headers=self.headers, timeout=20)

    def page(self, **params: Any) -> dict[str, Any]:
        answer = self.get(**params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def ids(self, **params: Any) -> list[str]:
        return [e["id"] for e in self.page(**params)["entries"]]

    def csv(self, **params: Any) -> httpx.Response:
        return httpx.get(self.url + ".csv", params=params, headers=self.headers, timeout=60)


def add_project(db: psycopg.Connection, place: Place, name: str) -> uuid.UUID:
    project = uuid.uuid4()
    db.execute(
        "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, %s)", (project, place.tenant_id, name)
    )
    return project


def plant(
    db: psycopg.Connection,
    place: Place,
    *,
    at: datetime,
    project: uuid.UUID | None = None,
    kind: str = "slack",
    action: str = "installed",
    reason: str | None = "installed",
    actor: tuple[str, str] = ("u-alice", "Alice Agent"),
    ip: str | None = "203.0.113.7",
    agent: str | None = "Mozilla/5.0",
    change: tuple[str, str] | None = None,
) -> str:
    event = uuid.uuid4()
    db.execute(
        "INSERT INTO integration_events (id, tenant_id, project_id, integration_type, action, reason, "
        "actor_id, actor_name, ip, user_agent, from_status, to_status, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (event, place.tenant_id, project or place.project_id, kind, action, reason, *actor, ip, agent,
         *(change or (None, None)), at),
    )  # fmt: skip
    return str(event)


@pytest.fixture
def trail(db: psycopg.Connection) -> dict[str, Any]:
    """Seven events in two projects of a fresh tenant, two of them at the very same moment."""
    place = new_place(db)
    other = add_project(db, place, "Field Desk")
    bob = ("u-bob", "Bob Admin")
    at = {name: NOW - timedelta(hours=hours) for name, hours in (("5h", 5), ("4h", 4), ("3h", 3), ("2h", 2))}
    ids = {
        "installed": plant(db, place, at=at["5h"]),
        "reconnect": plant(
            db, place, at=at["4h"], action="status_changed", reason="token_revoked",
            actor=("health-check", "Health check"), ip=None, agent=None, change=("active", "needs_reconnect"),
        ),
        "test": plant(db, place, at=at["3h"], project=other, kind="webhook", action="test_sent",
                      reason="test_sent", actor=bob),
        "uninstalled": plant(db, place, at=at["2h"], project=other, kind="webhook",
                             action="uninstalled", reason="uninstalled", actor=bob),
        "target": plant(db, place, at=NOW - timedelta(hours=1), kind="telegram", action="target_changed",
                        reason="target_saved"),
        "tie1": plant(db, place, at=NOW - timedelta(minutes=30), kind="telegram", action="test_sent",
                      reason="test_sent"),
        "tie2": plant(db, place, at=NOW - timedelta(minutes=30), kind="telegram", action="test_sent",
                      reason="rate_limited"),
    }  # fmt: skip
    return {"place": place, "other": other, "ids": ids}


def test_the_admin_pages_newest_first_and_filters(live_url: str, trail: dict[str, Any]) -> None:
    place, ids = trail["place"], trail["ids"]
    admin = Audit(live_url, place.tenant_id, token(place.tenant_id))
    seen, cursor, pages = [], None, 0
    while True:
        page = admin.page(page_size=3, **({"cursor": cursor} if cursor else {}))
        seen += [e["id"] for e in page["entries"]]
        pages, cursor = pages + 1, page["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 7
    ties = sorted([ids["tie1"], ids["tie2"]], reverse=True)  # same moment: the larger id first
    assert seen == [*ties, ids["target"], ids["uninstalled"], ids["test"], ids["reconnect"], ids["installed"]]

    [change] = [e for e in admin.page()["entries"] if e["id"] == ids["reconnect"]]
    assert (change["action_label"], change["from_status"], change["to_status"]) == (
        "Status changed",
        "active",
        "needs_reconnect",
    )
    assert change["explanation"] == "The Slack token was revoked. Reconnect Slack."
    assert (change["actor_name"], change["ip"], change["project_name"]) == ("Health check", "", "Intake")

    assert admin.ids(project_id=str(trail["other"])) == [ids["uninstalled"], ids["test"]]
    assert admin.ids(integration="slack") == [ids["reconnect"], ids["installed"]]
    assert admin.ids(action="uninstalled") == [ids["uninstalled"]]
    assert set(admin.ids(actor="ALICE")) == {ids["installed"], ids["target"], ids["tie1"], ids["tie2"]}
    assert admin.ids(actor="u-bob") == [ids["uninstalled"], ids["test"]]
    window = {
        "since": (NOW - timedelta(hours=3)).isoformat(),
        "until": (NOW - timedelta(hours=1)).isoformat(),
    }
    assert admin.ids(**window) == [ids["uninstalled"], ids["test"]]  # since inclusive, until exclusive
    assert admin.ids(action="test_sent", integration="telegram", actor="alice") == ties


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"cursor": "Zm9vYmFy"}, 400, "cursor"),
        ({"action": "exploded"}, 400, "action"),
        ({"project_id": "not-a-project"}, 400, "project_id"),
        ({"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, 400, "since"),
        ({"page_size": 0}, 422, "page_size"),
        ({"since": "yesterday"}, 422, "since"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_field(
    live_url: str, db: psycopg.Connection, params: dict[str, Any], status: int, field: str
) -> None:
    place = new_place(db)
    answer = Audit(live_url, place.tenant_id, token(place.tenant_id)).get(**params)
    assert answer.status_code == status and field in answer.text, answer.text


def test_the_csv_has_every_matching_row_and_no_formula(live_url: str, db: psycopg.Connection) -> None:
    place = new_place(db)
    many = EXPORT_BATCH * 2 + 7  # three batches
    with db.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO integration_events (id, tenant_id, project_id, integration_type, action, reason, "
            "actor_id, actor_name, created_at) VALUES (gen_random_uuid(), %s, %s, 'slack', 'installed', "
            "'installed', 'u-alice', 'Alice Agent', %s)",
            [(place.tenant_id, place.project_id, NOW - timedelta(seconds=i)) for i in range(many)],
        )
    hostile = plant(
        db, place, at=NOW + timedelta(seconds=1), kind="webhook", action="uninstalled", reason="uninstalled",
        actor=("-u-1", '=HYPERLINK("http://evil.example","click")'), ip="+1", agent="@SUM(1+1)\tx",
    )  # fmt: skip
    admin = Audit(live_url, place.tenant_id, token(place.tenant_id))
    answer = admin.csv()
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 1 + many + 1
    first = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert first["actor_name"] == '\'=HYPERLINK("http://evil.example","click")'
    assert (first["actor_id"], first["ip"], first["user_agent"]) == ("'-u-1", "'+1", "'@SUM(1+1)\tx")
    assert (first["action"], first["project"], first["integration"]) == ("uninstalled", "Intake", "webhook")
    assert first["time_utc"] == (NOW + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(row[4] == "installed" for row in rows[2:])
    only = list(csv.reader(io.StringIO(admin.csv(action="uninstalled").text)))
    assert [row[0:1] for row in only[1:]] == [[first["time_utc"]]] and hostile  # the filters apply


def test_agents_and_other_tenants_get_nothing(
    live_url: str, trail: dict[str, Any], db: psycopg.Connection
) -> None:
    place, ids = trail["place"], trail["ids"]
    agent = Audit(live_url, place.tenant_id, token(place.tenant_id, role="agent"))
    assert agent.get().status_code == 403 and agent.csv().status_code == 403
    stranger = new_place(db)
    plant(db, stranger, at=NOW)
    theirs = token(stranger.tenant_id)
    for route in ("get", "csv"):
        into_victim = getattr(Audit(live_url, place.tenant_id, theirs), route)()
        into_nowhere = getattr(Audit(live_url, uuid.uuid4(), theirs), route)()
        assert into_victim.status_code == into_nowhere.status_code == 404
        assert into_victim.json() == into_nowhere.json()
    own = Audit(live_url, stranger.tenant_id, theirs)
    assert not set(own.ids(page_size=200)) & set(ids.values())
    assert not set(own.ids(project_id=str(place.project_id)))  # naming the victim's project finds nothing
    assert all(i not in own.csv().text for i in ids.values())
    anonymous = httpx.get(f"{live_url}/v1/tenants/{place.tenant_id}/audit", timeout=20)
    assert anonymous.status_code == 401


def test_peoples_actions_are_recorded_with_where_they_came_from(
    live_url: str, db: psycopg.Connection
) -> None:
    """Connect, pick a chat, send a test, resend, retry failed and uninstall, each through the REST API:
    each is one audit row naming the person, their address and browser, in plain words."""
    project = project_id("Acme", "Billing Desk")
    since = datetime.now(UTC)
    ada = identity("Acme", "ada@acme.example", "admin")
    client = httpx.Client(
        base_url=live_url, headers={"Authorization": f"Bearer {issue_token(ada, get_settings())}",
                                    "User-Agent": AGENT}, timeout=20,
    )  # fmt: skip
    with client:
        bot = new_bot(client)
        assert client.post(f"{base(project)}/telegram", json={"bot_token": bot}).status_code == 200
        add_to_chat(client, bot, -1001900000123, "Audit desk")
        picked = client.put(f"{base(project)}/telegram/target", json={"target_id": "-1001900000123"})
        assert picked.status_code == 200, picked.text
        assert client.post(f"{base(project)}/telegram/test").status_code == 200
        receiver = f"{sandbox_origin()}/sandbox/webhook/receive/audit-{uuid.uuid4().hex}"
        hooked = client.post(f"{base(project)}/webhook", json={"url": receiver, "events": ["ticket.created"]})
        assert hooked.status_code == 200, hooked.text
        (webhook,) = db.execute(
            "SELECT id FROM project_integrations WHERE project_id = %s AND integration_type = 'webhook'",
            (project,),
        ).fetchone()
        place = Place(demo_id("Acme"), project)
        failed = [add_delivery(db, place, webhook, ticket_event(ticket_id=f"T-{n}")) for n in (1, 2)]
        db.execute("UPDATE deliveries SET status = 'failed' WHERE id = ANY(%s)", (failed,))
        deliveries = f"/v1/tenants/{place.tenant_id}/projects/{project}"
        try:
            assert client.post(f"{deliveries}/deliveries/{failed[0]}/resend").status_code == 202
            retried = client.post(
                f"{deliveries}/integrations/webhook/retry-failed", json={"since": since.isoformat()}
            )
            assert retried.json() == {"queued": 1}
        finally:  # the delivery log outlives the uninstall: leave the demo project's log as it was
            db.execute(
                "DELETE FROM ticket_events WHERE id IN (SELECT ticket_event_id FROM deliveries "
                "WHERE id = ANY(%s))",
                (failed,),
            )
        for kind in ("telegram", "webhook"):
            assert client.delete(f"{base(project)}/{kind}").status_code == 204
    admin = Audit(live_url, place.tenant_id, issue_token(ada, get_settings()))
    entries = admin.page(project_id=str(project), since=since.isoformat(), page_size=50)["entries"]
    done = [(e["integration_type"], e["action"], e["reason"]) for e in reversed(entries)]
    assert done == [
        ("telegram", "installed", "installed"),
        ("telegram", "target_changed", "target_saved"),
        ("telegram", "test_sent", "test_sent"),
        ("webhook", "installed", "installed"),
        ("webhook", "delivery_resent", "delivery_resent"),
        ("webhook", "deliveries_retried", "deliveries_retried"),
        ("telegram", "uninstalled", "uninstalled"),
        ("webhook", "uninstalled", "uninstalled"),
    ], done
    assert {(e["actor_id"], e["actor_name"], e["ip"], e["user_agent"]) for e in entries} == {
        (ada.user_id, ada.name, "127.0.0.1", AGENT)
    }
    labels = {e["action"]: (e["action_label"], e["explanation"]) for e in entries}
    assert labels["test_sent"] == ("Test message sent", "Telegram took the test message.")
    assert labels["target_changed"][0] == "Target changed"
