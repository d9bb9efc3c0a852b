"""The admin overview API: admins only, tenant-scoped, filters, search through meta, pagination, no secret."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest

from devtools.seed import demo_id
from tests.utils.identities import token_for

TENANT = "Overview Inc"  # a tenant of its own, so other tests' installs don't change the counts
ADMIN, AGENT = "olga@overview.example", "otto@overview.example"


def bearer(email: str, role: str, tenant: str = TENANT) -> dict[str, str]:
    from tms_console.security.identity import Identity, issue_token
    from tms_console.settings import get_settings

    who = Identity(str(demo_id(tenant, email)), email.split("@")[0].title(), demo_id(tenant), role)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {issue_token(who, get_settings())}"}


@pytest.fixture(scope="module")
def tenant(database_url: str) -> str:
    """12 projects; a few integrations in every state the overview distinguishes."""
    tenant_id = demo_id(TENANT)
    with psycopg.connect(
        database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as db:
        db.execute(
            "INSERT INTO tenants (id, name, created_at) VALUES (%s, %s, now()) ON CONFLICT DO NOTHING",
            (tenant_id, TENANT),
        )
        for n in range(12):
            db.execute(
                "INSERT INTO projects (id, tenant_id, name, created_at) VALUES (%s, %s, %s, now()) "
                "ON CONFLICT DO NOTHING",
                (demo_id(TENANT, f"P{n:02d}"), tenant_id, f"Project {n:02d}"),
            )
        rows = [
            (0, "discord", "active", {"guild_name": "Guild Zero", "channel_name": "general"}),
            (0, "msteams", "active", {"account_name": "Megan", "target_id": "t", "target_name": "Ops"}),
            (1, "slack", "active", {"team_name": "Acme Workspace", "channel": "#tickets"}),
            (2, "msteams", "active", {"account_name": "Adele"}),  # no channel picked yet: needs attention
            (3, "discord", "revoked", {"guild_name": "Old Guild"}),  # not active: needs attention
        ]
        for n, kind, status, meta in rows:
            db.execute(
                "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta, "
                "status, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, now(), now()) "
                "ON CONFLICT DO NOTHING",
                (
                    uuid.uuid4(),
                    tenant_id,
                    demo_id(TENANT, f"P{n:02d}"),
                    kind,
                    psycopg.types.json.Jsonb(meta),
                    status,
                ),
            )
    return str(tenant_id)


def get(live_url: str, tenant: str, headers: dict[str, str], **params: object) -> httpx.Response:
    return httpx.get(f"{live_url}/v1/tenants/{tenant}/integrations/overview", params=params, headers=headers)


def test_admin_sees_totals_and_a_page(live_url, tenant) -> None:
    answer = get(live_url, tenant, bearer(ADMIN, "admin"), page_size=5)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total_projects"] == 12 and body["matching"] == 12 and len(body["projects"]) == 5
    assert body["by_provider"]["discord"] == {"connected": 1, "needs_attention": 1, "not_connected": 10}
    assert body["by_provider"]["msteams"] == {"connected": 1, "needs_attention": 1, "not_connected": 10}
    assert body["by_status"]["connected"] == 3 and body["by_status"]["needs_attention"] == 2
    first = body["projects"][0]
    assert first["name"] == "Project 00" and set(first["integrations"]) >= {"discord", "slack", "webhook"}
    assert first["integrations"]["discord"] == {
        "status": "connected", "state": "active", "detail": "", "account": "Guild Zero", "channel": "general",
        "updated_at": first["integrations"]["discord"]["updated_at"], "failing": False, "failing_since": "",
    }  # fmt: skip
    assert "token" not in answer.text.lower()


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"needs_attention": "true"}, ["Project 02", "Project 03"]),
        ({"status": "connected", "provider": "slack"}, ["Project 01"]),
        ({"q": "Acme Workspace"}, ["Project 01"]),  # exact account name, through the GIN index on meta
        ({"q": "ject 1"}, ["Project 10", "Project 11"]),  # part of a project name
        ({"sort": "-name", "page_size": 2}, ["Project 11", "Project 10"]),
        ({"sort": "-name", "page_size": 2, "page": 6}, ["Project 01", "Project 00"]),
    ],
)
def test_filters_search_sort_and_pages(live_url, tenant, params, names) -> None:
    body = get(live_url, tenant, bearer(ADMIN, "admin"), **params).json()
    assert [p["name"] for p in body["projects"]] == names


def test_agents_are_not_allowed_and_other_tenants_see_nothing(live_url, tenant) -> None:
    refused = get(live_url, tenant, bearer(AGENT, "agent"))
    assert refused.status_code == 403 and refused.json()["reason"] == "not_allowed"
    other = get(live_url, tenant, {"Authorization": f"Bearer {token_for('Acme', 'ada@acme.example')}"})
    assert other.status_code == 404
    assert get(live_url, tenant, {}).status_code == 401


@pytest.mark.parametrize(
    "params", [{"status": "bogus"}, {"provider": "irc"}, {"sort": "random"}, {"q": "x" * 300}]
)
def test_bad_filters_are_clear_400s(live_url, tenant, params) -> None:
    answer = get(live_url, tenant, bearer(ADMIN, "admin"), **params)
    assert answer.status_code in (400, 422)
