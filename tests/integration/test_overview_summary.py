"""The admin overview's summary (migration 0015's triggers) is never stale, and search works as admins type.

Over real Postgres and HTTP: after an OAuth install through the sandbox, a status change and an uninstall,
the kept per-tenant totals and per-project rows equal a recomputation from `project_integrations`, for the
tenant written to and for a bystander tenant; two installs racing on one project both land in its row;
search finds any part (3+ characters, any case) of a project, account or channel name and exact ids only,
within the caller's tenant.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.integration.test_delivery_health import api
from tests.integration.test_install_flow import install
from tests.integration.test_lifecycle import move
from tests.utils.events import Place, add_integration, new_place
from tms_console.domain.status import IntegrationStatus
from tms_console.persistence.overview_queries import SEARCH_IDS, SEARCH_NAMES

OVERVIEW = "/integrations/overview"


def kept(db: psycopg.Connection, tenant: uuid.UUID) -> dict[str, tuple[int, int, int]]:
    rows = db.execute(
        "SELECT integration_type, installed, inactive, untargeted FROM overview_totals "
        "WHERE tenant_id = %s AND (installed, inactive, untargeted) <> (0, 0, 0)",
        (tenant,),
    ).fetchall()
    return {kind: (n, bad, untargeted) for kind, n, bad, untargeted in rows}


def recomputed(db: psycopg.Connection, tenant: uuid.UUID) -> dict[str, tuple[int, int, int]]:
    rows = db.execute(
        "SELECT integration_type, count(*), count(*) FILTER (WHERE status <> 'active'), "
        "count(*) FILTER (WHERE status = 'active' AND NOT meta ? 'target_id') "
        "FROM project_integrations WHERE tenant_id = %s GROUP BY integration_type",
        (tenant,),
    ).fetchall()
    return {kind: (n, bad, untargeted) for kind, n, bad, untargeted in rows}


def project_row(db: psycopg.Connection, project: uuid.UUID) -> tuple[Any, ...]:
    row = db.execute(
        "SELECT tenant_id, name, last_change, installed, inactive, untargeted FROM overview_projects "
        "WHERE project_id = %s",
        (project,),
    ).fetchone()
    assert row is not None, "every project has its overview row"
    tenant, name, changed, installed, inactive, untargeted = row
    return tenant, name, changed, sorted(installed), sorted(inactive), sorted(untargeted)


def project_recomputed(db: psycopg.Connection, project: uuid.UUID) -> tuple[Any, ...]:
    row = db.execute(
        "SELECT p.tenant_id, p.name, max(pi.updated_at), "
        "coalesce(array_agg(pi.integration_type::text) FILTER (WHERE pi.id IS NOT NULL), '{}'), "
        "coalesce(array_agg(pi.integration_type::text) FILTER (WHERE pi.status <> 'active'), '{}'), "
        "coalesce(array_agg(pi.integration_type::text) "
        "         FILTER (WHERE pi.status = 'active' AND NOT pi.meta ? 'target_id'), '{}') "
        "FROM projects p LEFT JOIN project_integrations pi "
        "ON pi.project_id = p.id AND pi.tenant_id = p.tenant_id "
        "WHERE p.id = %s GROUP BY p.tenant_id, p.name",
        (project,),
    ).fetchone()
    assert row is not None
    tenant, name, changed, installed, inactive, untargeted = row
    return tenant, name, changed, sorted(installed), sorted(inactive), sorted(untargeted)


def projects_of(db: psycopg.Connection, tenant: uuid.UUID) -> tuple[int, int]:
    """(kept project count, counted projects) of a tenant."""
    row = db.execute(
        "SELECT (SELECT projects FROM overview_tenants WHERE tenant_id = %s), "
        "(SELECT count(*) FROM projects WHERE tenant_id = %s)",
        (tenant, tenant),
    ).fetchone()
    assert row is not None
    return row[0] or 0, row[1]


def signatures(db: psycopg.Connection, tenant: uuid.UUID, query: str) -> dict[tuple[Any, ...], int]:
    """{(installed, inactive, untargeted) sorted: projects} of a tenant, from `query` (one %s: the tenant)."""
    found: dict[tuple[Any, ...], int] = {}
    for installed, inactive, untargeted, n in db.execute(query, (tenant,)).fetchall():
        key = (tuple(sorted(installed)), tuple(sorted(inactive)), tuple(sorted(untargeted)))
        found[key] = found.get(key, 0) + n
    return {key: n for key, n in found.items() if n}


KEPT_SIGNATURES = (
    "SELECT installed, inactive, untargeted, projects FROM overview_signatures WHERE tenant_id = %s"
)
COUNTED_SIGNATURES = (
    "SELECT installed, inactive, untargeted, count(*) FROM overview_projects WHERE tenant_id = %s "
    "GROUP BY installed, inactive, untargeted"
)


def assert_fresh(db: psycopg.Connection, *places: Place) -> None:
    for place in places:
        assert recomputed(db, place.tenant_id), "the check compares something"
        assert kept(db, place.tenant_id) == recomputed(db, place.tenant_id)
        counted = signatures(db, place.tenant_id, COUNTED_SIGNATURES)
        assert counted and signatures(db, place.tenant_id, KEPT_SIGNATURES) == counted
        assert project_row(db, place.project_id) == project_recomputed(db, place.project_id)
        kept_projects, counted = projects_of(db, place.tenant_id)
        assert kept_projects == counted > 0


def matching(live_url: str, place: Place, q: str) -> list[str]:
    body = api(live_url, place, OVERVIEW, q=q)
    assert body["matching"] == len(body["projects"])
    return [project["id"] for project in body["projects"]]


@pytest.fixture
def place(db: psycopg.Connection) -> Place:
    return new_place(db)


@pytest.fixture
def bystander(db: psycopg.Connection) -> Place:
    """Another tenant with an integration of its own: no write of the test may move its summary."""
    other = new_place(db)
    add_integration(db, other, "slack")
    return other


def test_the_summary_is_fresh_after_an_install_a_status_change_and_an_uninstall(
    live_url: str, db: psycopg.Connection, place: Place, bystander: Place
) -> None:
    theirs = api(live_url, bystander, OVERVIEW)
    assert theirs["by_provider"]["slack"]["needs_attention"] == 0 and theirs["by_status"]["connected"] == 1
    with httpx.Client(base_url=live_url, follow_redirects=False, timeout=20) as client:
        client.cookies.set("tms_session", place.token("agent"), domain="127.0.0.1")
        assert install(client, "discord", place.project_id).status_code == 303
    integration, meta = db.execute(
        "SELECT id, meta FROM project_integrations WHERE project_id = %s", (place.project_id,)
    ).fetchone()  # type: ignore[misc]
    assert_fresh(db, place, bystander)
    body = api(live_url, place, OVERVIEW)
    assert body["by_provider"]["discord"] == {"connected": 1, "needs_attention": 0, "not_connected": 0}
    guild = str(meta["guild_name"])
    assert matching(live_url, place, guild[1:-1].swapcase()) == [str(place.project_id)]  # any part, any case
    assert matching(live_url, place, str(meta["guild_id"])) == [str(place.project_id)]

    assert move(integration, IntegrationStatus.NEEDS_RECONNECT, "invalid_auth") is True
    assert_fresh(db, place, bystander)
    body = api(live_url, place, OVERVIEW, status="needs_attention", provider="discord")
    assert body["by_provider"]["discord"] == {"connected": 0, "needs_attention": 1, "not_connected": 0}
    assert [p["id"] for p in body["projects"]] == [str(place.project_id)]

    gone = httpx.delete(
        f"{live_url}/v1/tenants/{place.tenant_id}/projects/{place.project_id}/integrations/discord",
        headers={"Authorization": f"Bearer {place.token('agent')}"},
        timeout=20,
    )
    assert gone.status_code == 204, gone.text
    assert kept(db, place.tenant_id) == recomputed(db, place.tenant_id) == {}
    assert project_row(db, place.project_id) == project_recomputed(db, place.project_id)
    body = api(live_url, place, OVERVIEW)
    assert body["by_provider"]["discord"] == {"connected": 0, "needs_attention": 0, "not_connected": 1}
    assert matching(live_url, place, guild[1:-1]) == []
    assert api(live_url, bystander, OVERVIEW)["by_provider"] == theirs["by_provider"]
    assert_fresh(db, bystander)


def test_a_rename_a_bulk_statement_and_project_changes_keep_the_summary_fresh(
    live_url: str, db: psycopg.Connection, place: Place, bystander: Place
) -> None:
    db.execute("UPDATE projects SET name = 'Renamed Desk' WHERE id = %s", (place.project_id,))
    assert matching(live_url, place, "named de") == [str(place.project_id)]
    with (
        db.cursor() as cur,
        cur.copy(
            "COPY project_integrations (id, tenant_id, project_id, integration_type, meta, status) FROM STDIN"
        ) as copy,
    ):
        for kind in ("telegram", "webhook"):
            copy.write_row((uuid.uuid4(), place.tenant_id, place.project_id, kind, Jsonb({}), "active"))
    assert_fresh(db, place, bystander)
    db.execute(
        'UPDATE project_integrations SET meta = meta || \'{"target_id": "t-1"}\' WHERE tenant_id = %s',
        (place.tenant_id,),
    )
    assert_fresh(db, place, bystander)
    assert api(live_url, place, OVERVIEW)["by_status"] == {
        "connected": 2, "needs_attention": 0, "not_connected": 5,
    }  # fmt: skip
    second = uuid.uuid4()
    db.execute(
        "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, 'Second Desk')", (second, place.tenant_id)
    )
    assert projects_of(db, place.tenant_id) == (2, 2)
    assert api(live_url, place, OVERVIEW)["total_projects"] == 2
    db.execute("DELETE FROM project_integrations WHERE project_id = %s", (place.project_id,))
    db.execute("DELETE FROM projects WHERE id = %s", (place.project_id,))
    assert projects_of(db, place.tenant_id) == (1, 1)
    assert kept(db, place.tenant_id) == recomputed(db, place.tenant_id) == {}
    # The deleted project's row went by the foreign key's cascade: its signature's count with it.
    assert signatures(db, place.tenant_id, KEPT_SIGNATURES) == {((), (), ()): 1}
    body = api(live_url, place, OVERVIEW)
    assert body["total_projects"] == 1 and [p["name"] for p in body["projects"]] == ["Second Desk"]
    assert_fresh(db, bystander)


def test_two_installs_racing_on_one_project_both_land_in_its_row(
    database_url: str, db: psycopg.Connection, place: Place
) -> None:
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    insert = (
        "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type) "
        "VALUES (%s, %s, %s, %s)"
    )
    with psycopg.connect(url) as first, psycopg.connect(url) as second:
        first.execute(
            insert, (uuid.uuid4(), place.tenant_id, place.project_id, "slack")
        )  # holds the row lock

        def install_second() -> None:
            second.execute(insert, (uuid.uuid4(), place.tenant_id, place.project_id, "discord"))
            second.commit()

        racer = threading.Thread(target=install_second)
        racer.start()
        racer.join(timeout=1)
        assert racer.is_alive(), "the second install waits for the first one's summary row"
        first.commit()
        racer.join(timeout=10)
    assert project_row(db, place.project_id)[3] == ["discord", "slack"]
    assert_fresh(db, place)


def test_every_filter_counts_what_it_lists(live_url: str, db: psycopg.Connection, place: Place) -> None:
    """`matching` (from the kept totals, or counted) equals the projects the filter lists."""
    projects = [place.project_id] + [uuid.uuid4() for _ in range(3)]
    for n, project in enumerate(projects[1:]):
        db.execute(
            "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, %s)",
            (project, place.tenant_id, f"P{n}"),
        )
    for project, kind, status, meta in (
        (projects[0], "slack", "active", {}),
        (projects[0], "msteams", "active", {"target_id": "t"}),
        (projects[1], "slack", "needs_reconnect", {}),
        (projects[1], "msteams", "active", {}),  # no target yet: needs attention
        (projects[2], "webhook", "active", {}),
    ):
        db.execute(
            "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta, status) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (uuid.uuid4(), place.tenant_id, project, kind, Jsonb(meta), status),
        )
    checked = 0
    for provider in (None, "slack", "msteams", "webhook", "discord"):
        for status in (None, "connected", "needs_attention", "not_connected"):
            for flag in ({}, {"needs_attention": "true"}):
                params = {k: v for k, v in (("provider", provider), ("status", status)) if v} | flag
                body = api(live_url, place, OVERVIEW, page_size=200, **params)
                assert body["matching"] == len(body["projects"]), params
                checked += body["matching"]
    assert checked > 0
    assert api(live_url, place, OVERVIEW, provider="slack", status="connected")["matching"] == 1
    assert api(live_url, place, OVERVIEW, provider="msteams", status="needs_attention")["matching"] == 1
    assert api(live_url, place, OVERVIEW, status="not_connected")["matching"] == 1
    paged = api(live_url, place, OVERVIEW, page_size=1, page=2, provider="slack")
    assert paged["matching"] == 2 and len(paged["projects"]) == 1


@pytest.fixture
def searchable(db: psycopg.Connection, place: Place) -> Place:
    """ "Night Owls HQ" and its channel and phone, in this tenant; the same names in another tenant."""
    for where in (place, new_place(db)):
        for kind, meta in (
            ("discord", {"guild_name": "Night Owls HQ", "guild_id": "8123456789",
                         "channel_name": "late-shift"}),
            ("whatsapp", {"account_name": "Owls Care", "phone_number": "+1 555 0100",
                          "phone_number_id": "1055"}),
        ):  # fmt: skip
            db.execute(
                "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta) "
                "VALUES (%s, %s, %s, %s, %s)",
                (uuid.uuid4(), where.tenant_id, where.project_id, kind, Jsonb(meta)),
            )
    return place


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("night owls", True),  # the example: part of the Discord server's name, any case
        ("OWLS hq", True),
        ("late-sh", True),  # part of a channel name
        ("555 01", True),  # part of a phone number
        ("8123456789", True),  # an exact id
        ("812345678", False),  # part of an id is not an id
        ("Intake", True),  # the project's own name
        ("owls%", False),  # LIKE's wildcards are plain text
        ("HQ\nlate", False),  # names are never run together
    ],
)
def test_search_finds_any_part_of_a_name_or_an_exact_id_in_the_callers_tenant_only(
    live_url: str, searchable: Place, q: str, found: bool
) -> None:
    answer = httpx.get(
        f"{live_url}/v1/tenants/{searchable.tenant_id}{OVERVIEW}",
        params={"q": q},
        headers={"Authorization": f"Bearer {searchable.token('admin')}"},
        timeout=20,
    )
    if "\n" in q:
        assert answer.status_code == 400  # control characters are refused, so no query spans two names
        return
    assert answer.status_code == 200, answer.text
    assert [p["id"] for p in answer.json()["projects"]] == ([str(searchable.project_id)] if found else [])


@pytest.mark.parametrize("q", ["ow", " o ", "8"])
def test_a_search_under_three_characters_is_a_clear_400(live_url: str, place: Place, q: str) -> None:
    answer = httpx.get(
        f"{live_url}/v1/tenants/{place.tenant_id}{OVERVIEW}",
        params={"q": q},
        headers={"Authorization": f"Bearer {place.token('admin')}"},
        timeout=20,
    )
    assert answer.status_code == 400
    assert "at least 3 characters" in answer.text


@pytest.mark.parametrize("key", SEARCH_NAMES + SEARCH_IDS)
def test_every_searchable_field_is_indexed_by_the_trigger(
    live_url: str, db: psycopg.Connection, place: Place, key: str
) -> None:
    value = f"Zq{uuid.uuid4().hex[:8]}Xy"
    db.execute(
        "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta) "
        "VALUES (%s, %s, %s, 'webhook', %s)",
        (uuid.uuid4(), place.tenant_id, place.project_id, Jsonb({key: value})),
    )
    assert matching(live_url, place, value if key in SEARCH_IDS else value[1:-1].lower()) == [
        str(place.project_id)
    ]
    assert matching(live_url, place, "ZqNothingXy") == []
