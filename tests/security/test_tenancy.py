"""Cross-tenant over HTTP, for every endpoint in /openapi.json (SECURITY.md "Identity and tenancy").

Another tenant's tenant/project ids answer exactly what random, non-existent ids answer, and
nothing is written. The schema is iterated, so a new endpoint is covered without editing this file.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.utils.forms import click
from tests.utils.identities import identity, project_id, token_for

TENANT_PARAMS = {"tenant_id", "project_id"}
# Endpoints that take no tenant or project id at all; a new one must be looked at and added here.
TENANTLESS = {
    ("GET", "/api/public/integrations/{integration_type}/callback"),
    ("POST", "/api/session"),
    ("DELETE", "/api/session"),
    ("GET", "/api/health"),
    # Providers call in with only a random endpoint id; authenticated by the provider's secret
    # (see test_connect_flows.py: test_telegram_inbound_rejects_a_wrong_secret_and_unknown_endpoints).
    ("POST", "/api/public/integrations/{integration_type}/inbound/{endpoint_id}"),
}
PEOPLE = {"Acme": "alice@acme.example", "Globex": "gary@globex.example"}
PROJECTS = {"Acme": "Customer Support", "Globex": "Helpdesk"}


def install(live_url: str, tenant: str, kind: str) -> None:
    with httpx.Client(base_url=live_url, follow_redirects=False, timeout=20) as client:
        client.cookies.set("tms_session", token_for(tenant, PEOPLE[tenant]), domain="127.0.0.1")
        start = client.get(
            f"/api/console/integrations/{kind}/install",
            params={"project_id": str(project_id(tenant, PROJECTS[tenant]))},
        )
        assert start.status_code == 303, start.text
        consent = client.get(start.headers["location"])
        method, action, data = click(consent.text, str(consent.url), "approve")
        callback = client.request(method, action, data=data)
        done = client.get(callback.headers["location"])
        assert "status=success" in done.headers["location"], done.headers["location"]


@pytest.fixture(scope="module")
def planted(live_url: str) -> None:
    """Both tenants have Discord and Slack on one project, so "exists elsewhere" is real."""
    for tenant in PEOPLE:
        for kind in ("discord", "slack"):
            install(live_url, tenant, kind)


def operations(live_url: str) -> list[tuple[str, str, dict[str, Any]]]:
    spec = httpx.get(live_url + "/openapi.json").json()
    return [(method.upper(), path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def table_state(db: psycopg.Connection) -> dict[str, Any]:
    tables = [
        name
        for (name,) in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
    ]
    state: dict[str, Any] = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone() for t in tables}
    state["rows"] = db.execute(
        "SELECT i.id, i.status, i.meta, i.updated_at, c.ciphertext FROM project_integrations i "
        "LEFT JOIN integration_credentials c ON c.integration_id = i.id ORDER BY i.id"
    ).fetchall()
    return state


def call(
    client: httpx.Client, method: str, path: str, op: dict[str, Any], ids: dict[str, str], caller: str
) -> tuple[int, Any]:
    values = {"integration_type": "discord", "code": "x", "state": "x", **ids}
    url = path.format(
        **{p["name"]: values.get(p["name"], "x") for p in op.get("parameters", []) if p["in"] == "path"}
    )
    query = {
        p["name"]: values[p["name"]]
        for p in op.get("parameters", [])
        if p["in"] == "query" and p["name"] in values
    }
    # A well-formed body where the operation takes one, so the request reaches the tenant check.
    body = {"target_id": "x"} if path.endswith("/target") else {} if "requestBody" in op else None
    answer = client.request(
        method,
        url,
        params=query,
        json=body,
        headers={"Authorization": f"Bearer {token_for(caller, PEOPLE[caller])}"},
    )
    try:
        body: Any = answer.json()
    except ValueError:
        body = answer.text
    return answer.status_code, body


@pytest.mark.parametrize(("caller", "victim"), [("Acme", "Globex"), ("Globex", "Acme")])
def test_other_tenants_ids_look_exactly_like_missing_ones(
    live_url: str, planted: None, db: psycopg.Connection, caller: str, victim: str
) -> None:
    own_tenant = str(identity(caller, PEOPLE[caller]).tenant_id)
    victim_tenant = str(identity(victim, PEOPLE[victim]).tenant_id)
    victim_project = str(project_id(victim, PROJECTS[victim]))
    own_project = str(project_id(caller, PROJECTS[caller]))
    scoped = 0
    with httpx.Client(base_url=live_url, follow_redirects=False, timeout=20) as client:
        for method, path, op in operations(live_url):
            names = {p["name"] for p in op.get("parameters", [])}
            if not names & TENANT_PARAMS:
                assert (method, path) in TENANTLESS, f"new endpoint without tenant ids: {method} {path}"
                continue
            scoped += 1
            # Control: the caller's own ids do reach something (GETs only; DELETE would remove it;
            # discord has no targets to list, so that GET answers 404 for everyone).
            # The overview is for admins and these callers are agents (roles: test_overview.py).
            if method == "GET" and not path.endswith(("/targets", "/overview")):
                ok = call(
                    client, method, path, op, {"tenant_id": own_tenant, "project_id": own_project}, caller
                )
                assert ok[0] == 200, (method, path, ok)
            before = table_state(db)
            cases = {
                "other tenant and project": {"tenant_id": victim_tenant, "project_id": victim_project},
                "own tenant, other's project": {"tenant_id": own_tenant, "project_id": victim_project},
            }
            missing = {
                "other tenant and project": {"tenant_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4())},
                "own tenant, other's project": {"tenant_id": own_tenant, "project_id": str(uuid.uuid4())},
            }
            if "project_id" not in names:  # a tenant-wide endpoint: only another tenant applies
                del cases["own tenant, other's project"]
            for label, ids in cases.items():
                attack = call(client, method, path, op, ids, caller)
                control = call(client, method, path, op, missing[label], caller)
                assert attack == control, (method, path, label, attack, control)
                assert attack[0] == 404, (method, path, label, attack)
            assert table_state(db) == before, (method, path)
    assert scoped >= 3
