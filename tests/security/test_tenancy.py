"""Cross-tenant over HTTP, for every route the app serves (SECURITY.md "Identity and tenancy").

The routes come from the app's own route table: the FastAPI app of `create_api()` (console-only
routes hidden from /openapi.json included) plus the routes Reflex adds. Each is either a public route
listed below with the reason it needs no tenant check, or takes a tenant or project id; for those,
another tenant's ids answer exactly what random, non-existent ids answer, and nothing is written.
A new route that is neither fails the sweep until someone classifies it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import redis
from fastapi.routing import iter_route_contexts
from psycopg.types.json import Jsonb
from starlette.routing import BaseRoute, Mount

from tests.utils.events import service_token, ticket_event
from tests.utils.forms import click
from tests.utils.identities import identity, project_id, token_for

TENANT_PARAMS = {"tenant_id", "project_id"}
# Routes that take no tenant or project id, each with why it needs no tenant check. A new route must
# be looked at and added here, or take the ids it serves (and then the sweep attacks it).
PUBLIC = {
    ("GET", "/openapi.json"): "the published API schema; no tenant data",
    ("GET", "/api/public/integrations/{integration_type}/callback"): (
        "providers send the browser back here; tenant, project and user come only from the one-time "
        "state (test_oauth_state.py, test_callback_paths.py)"
    ),
    ("POST", "/api/public/integrations/{integration_type}/inbound/{endpoint_id}"): (
        "providers call in with a random endpoint id, authenticated by the provider's secret "
        "(test_connect_flows.py::test_telegram_inbound_rejects_a_wrong_secret_and_unknown_endpoints, "
        "test_inbound_events.py)"
    ),
    ("POST", "/api/public/integrations/{integration_type}/events"): (
        "a provider's events about its own ids (workspace, user, account), signed with the app's key; "
        "they move every install of those ids, in any tenant, and nothing else (test_inbound_events.py)"
    ),
    ("GET", "/api/public/integrations/{integration_type}/events"): (
        "the provider checking the events URL with our verify token; reads no tenant data "
        "(test_inbound_events.py)"
    ),
    ("POST", "/api/session"): "turns the caller's own verified JWT into a cookie; takes no ids",
    ("DELETE", "/api/session"): "signs out; takes no ids",
    ("POST", "/api/session/demo"): (
        "the demo login (dev and test only, 404 in prod): signs in as a seeded user, who is then "
        "served their own tenant only"
    ),
    ("GET", "/api/health"): "dependency status only",
    ("GET", "/metrics"): (
        "counts by provider and reason code, no ids (test_metrics.py::test_metrics_hold_no_ids_or_secrets); "
        "404 unless METRICS_TOKEN is set, then only for its holder"
    ),
    ("GET", "/ping"): "Reflex's liveness probe",
    ("GET", "/_health"): "Reflex's health check; dependency status only",
    ("WEBSOCKET", "/_event"): (
        "the Reflex websocket: every handler re-checks the session (test_reflex_handlers.py)"
    ),
}
OTHER_TENANT, OTHER_PROJECT = "other tenant and project", "own tenant, other's project"
PEOPLE = {"Acme": "alice@acme.example", "Globex": "gary@globex.example"}
# Routes for the TMS backend (role `service`), not for people: swept with the tenant's service token.
SERVICE_ROUTES = {("POST", "/v1/tenants/{tenant_id}/projects/{project_id}/events")}
PROJECTS = {"Acme": "Customer Support", "Globex": "Helpdesk"}
ADMIN_ONLY = ("/overview", "/audit", "/audit.csv", "/notifications")  # GET routes the sweep's agents cannot


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


def subscribe_hook(live_url: str, sandbox_url: str, tenant: str) -> str:
    """A REST hook of the tenant's project; its id."""
    answer = httpx.post(
        f"{live_url}/v1/tenants/{identity(tenant, PEOPLE[tenant]).tenant_id}/projects/"
        f"{project_id(tenant, PROJECTS[tenant])}/hooks",
        json={"target_url": f"{sandbox_url}/sandbox/webhook/receive/sweep", "event": "*"},
        headers={"Authorization": f"Bearer {token_for(tenant, PEOPLE[tenant])}"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


@pytest.fixture(scope="module")
def planted(live_url: str, sandbox_url: str, database_url: str) -> Iterator[dict[str, dict[str, str]]]:
    """Both tenants have Discord and Slack on one project, so "exists elsewhere" is real, a REST hook
    there and a failed Discord delivery (the hook and delivery routes take their ids); by tenant.
    Uninstalled again afterwards, so later tests find the demo projects as the seed left them."""
    for tenant in PEOPLE:
        for kind in ("discord", "slack"):
            install(live_url, tenant, kind)
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as db:
        ids = {
            tenant: {
                "hook_id": subscribe_hook(live_url, sandbox_url, tenant),
                "delivery_id": str(plant_delivery(db, tenant)),
            }
            for tenant in PEOPLE
        }
    yield ids
    for tenant, planted_ids in ids.items():
        project = f"{live_url}/v1/tenants/{identity(tenant, PEOPLE[tenant]).tenant_id}/projects/" + str(
            project_id(tenant, PROJECTS[tenant])
        )
        headers = {"Authorization": f"Bearer {token_for(tenant, PEOPLE[tenant])}"}
        httpx.delete(f"{project}/hooks/{planted_ids['hook_id']}", headers=headers)
        for kind in ("discord", "slack"):
            answer = httpx.delete(f"{project}/integrations/{kind}", headers=headers, timeout=20)
            assert answer.status_code in (204, 404), answer.text


def plant_delivery(db: psycopg.Connection, tenant: str) -> uuid.UUID:
    tenant_id, project = identity(tenant, PEOPLE[tenant]).tenant_id, project_id(tenant, PROJECTS[tenant])
    event = ticket_event()
    row = db.execute(
        "INSERT INTO ticket_events (id, tenant_id, project_id, event_id, type, payload, answer) "
        "VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, '{}') RETURNING id",
        (tenant_id, project, event["id"], event["type"], Jsonb(event)),
    ).fetchone()
    assert row is not None
    delivery_id = uuid.uuid4()
    db.execute(
        "INSERT INTO deliveries (id, ticket_event_id, tenant_id, project_id, integration_id, "
        "integration_type, status, attempts, last_reason) "
        "SELECT %s, %s, tenant_id, project_id, id, integration_type, 'failed', 1, 'rejected' "
        "FROM project_integrations WHERE tenant_id = %s AND project_id = %s AND integration_type = 'discord'",
        (delivery_id, row[0], tenant_id, project),
    )
    return delivery_id


@dataclass(frozen=True)
class Route:
    """One method of one route, with the parameter names it takes from its path and query."""

    method: str
    path: str
    path_params: frozenset[str]
    query_params: frozenset[str] = frozenset()
    body: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    @property
    def tenant_params(self) -> set[str]:
        return set(self.path_params | self.query_params) & TENANT_PARAMS


def _routes_of(table: Iterable[BaseRoute]) -> list[Route]:
    found = []
    for context in iter_route_contexts(list(table)):
        original = context.original_route
        if isinstance(original, Mount):  # Reflex mounts its websocket (socket.io) app
            found.append(Route("WEBSOCKET", original.path, frozenset()))
            continue
        dependant = getattr(original, "dependant", None)
        query = frozenset(p.name for p in dependant.query_params) if dependant else frozenset()
        body = getattr(original, "body_field", None) is not None
        path_params = frozenset(getattr(original, "param_convertors", {}))
        for method in sorted(set(context.methods or ()) - {"HEAD"}):
            found.append(Route(method, str(context.path), path_params, query, body))
    return found


def served_routes() -> list[Route]:
    """Every route of the console's FastAPI app and every route Reflex adds around it."""
    from tms_console import tms_console  # the Reflex app, with the routes it adds itself
    from tms_console.api import create_api

    reflex_api = tms_console.app._api
    assert reflex_api is not None
    return _routes_of(create_api().routes) + _routes_of(reflex_api.routes)


def console_routes() -> list[Route]:
    routes = served_routes()
    assert not [route for route in routes if route.path.startswith("/sandbox")]  # its own app, elsewhere
    return routes


def test_every_route_is_public_for_a_reason_or_takes_the_ids_it_serves(live_url: str) -> None:
    routes = console_routes()
    keys = {route.key for route in routes}
    assert not set(PUBLIC) - keys, f"listed as public but no longer served: {set(PUBLIC) - keys}"
    for route in routes:
        if route.key in PUBLIC:
            assert not route.tenant_params, f"a public route takes tenant ids: {route.key}"
        else:
            assert route.tenant_params, f"unclassified route (neither public nor tenant-scoped): {route.key}"
    schema = httpx.get(live_url + "/openapi.json").json()["paths"]
    documented = {(method.upper(), path) for path, ops in schema.items() for method in ops}
    assert documented <= keys, f"in /openapi.json but not in the route table: {documented - keys}"
    hidden = keys - documented - set(PUBLIC)
    assert {path for _, path in hidden} >= {
        "/api/console/integrations/{integration_type}/install",
        "/api/console/integrations/{integration_type}/admin-consent",
    }, "the console-only routes (not in /openapi.json) must be swept too"


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


def call(client: httpx.Client, route: Route, ids: dict[str, str], caller: str) -> tuple[int, str, Any]:
    """Call `route` as `caller` (Bearer token and session cookie) with these tenant/project ids.

    Returns status, redirect target and body, with the ids replaced by a placeholder: a redirect
    naming the id it was given is still "the same answer".
    """
    # Admin consent exists only for Microsoft Teams; for Discord it would 404 before any tenant check.
    kind = "msteams" if route.path.endswith("/admin-consent") else "discord"
    values = {"integration_type": kind, **ids}
    url = route.path.format(**{name: values.get(name, "x") for name in route.path_params})
    query = {name: values[name] for name in route.query_params if name in values}
    # A well-formed body where the route takes one, so the request reaches the tenant check.
    bodies = {
        "/target": {"target_id": "x"},
        "/{integration_type}/events": {"events": ["ticket.created"]},
        "/retry-failed": {"since": "2026-01-01T00:00:00Z"},
        "/notifications": {"integration_id": None},
        "/replacement": {"replacement": "x" * 43, "replace": True},
    }
    body = next((b for end, b in bodies.items() if route.path.endswith(end)), {} if route.body else None)
    if route.path.endswith("/hooks") and route.method == "POST":
        body = {"target_url": "https://203.0.113.10/hook", "event": "*"}
    token = token_for(caller, PEOPLE[caller])
    if route.key in SERVICE_ROUTES:
        body, token = ticket_event(id="sweep-event"), service_token(caller)
    answer = client.request(
        route.method,
        url,
        params=query,
        json=body,
        headers={"Authorization": f"Bearer {token}", "Cookie": f"tms_session={token}"},
    )
    try:
        content: Any = answer.json()
    except ValueError:
        content = answer.text
    location = answer.headers.get("location", "")
    for value in ids.values():
        location = location.replace(value, "{id}")
    return answer.status_code, location, content


def pending_states(store: redis.Redis) -> set[bytes]:
    """The states waiting in Redis (compared as sets: another test's state may expire meanwhile)."""
    return set(store.scan_iter("oauth:state:*"))


def check_own_ids_reach_something(
    client: httpx.Client, route: Route, ids: dict[str, str], caller: str
) -> None:
    """Control: the caller's own ids do reach something (GETs only; DELETE would remove it).

    Discord has no targets to list (404 for everyone); the overview, the audit trail and the notification
    setting are for admins and these callers are agents (roles: test_overview.py, test_audit_log.py,
    test_notifications.py).
    """
    if route.method != "GET" or route.path.endswith(("/targets", *ADMIN_ONLY)):
        return
    status, location, content = call(client, route, ids, caller)
    if route.query_params & TENANT_PARAMS:  # a console route: on to the provider, not back with an error
        assert status == 303 and "status=error" not in location, (route.key, status, location)
    else:
        assert status == 200, (route.key, status, content)


@pytest.mark.parametrize(("caller", "victim"), [("Acme", "Globex"), ("Globex", "Acme")])
def test_other_tenants_ids_look_exactly_like_missing_ones(
    live_url: str,
    redis_url: str,
    planted: dict[str, dict[str, str]],
    db: psycopg.Connection,
    caller: str,
    victim: str,
) -> None:
    own_tenant = str(identity(caller, PEOPLE[caller]).tenant_id)
    own = {
        "tenant_id": own_tenant,
        "project_id": str(project_id(caller, PROJECTS[caller])),
        **planted[caller],
    }
    victim_project, victim_ids = str(project_id(victim, PROJECTS[victim])), planted[victim]
    cases = {
        OTHER_TENANT: {
            "tenant_id": str(identity(victim, PEOPLE[victim]).tenant_id),
            "project_id": victim_project,
            **victim_ids,
        },
        OTHER_PROJECT: {"tenant_id": own_tenant, "project_id": victim_project, **victim_ids},
    }
    missing = {
        OTHER_TENANT: {
            "tenant_id": str(uuid.uuid4()),
            "project_id": str(uuid.uuid4()),
            "hook_id": victim_ids["hook_id"],
            "delivery_id": str(uuid.uuid4()),
        },
        OTHER_PROJECT: {
            "tenant_id": own_tenant,
            "project_id": str(uuid.uuid4()),
            "hook_id": victim_ids["hook_id"],
            "delivery_id": str(uuid.uuid4()),
        },
    }
    store = redis.Redis.from_url(redis_url)
    swept: set[tuple[str, str]] = set()
    with httpx.Client(base_url=live_url, follow_redirects=False, timeout=20) as client:
        for route in console_routes():
            if route.key in PUBLIC:
                continue
            swept.add(route.key)
            check_own_ids_reach_something(client, route, own, caller)
            before, states = table_state(db), pending_states(store)
            for label, ids in cases.items():
                if label == OTHER_PROJECT and "project_id" not in route.tenant_params:
                    continue  # a tenant-wide route: only another tenant applies
                attack = call(client, route, ids, caller)
                control = call(client, route, missing[label], caller)
                assert attack == control, (route.key, label, attack, control)
                assert attack[0] == 404 or "reason=not_found" in attack[1], (route.key, label, attack)
            assert table_state(db) == before, route.key
            minted = pending_states(store) - states
            assert not minted, f"{route.key} minted a state for another tenant's ids"
    assert {path for _, path in swept} >= {
        "/v1/tenants/{tenant_id}/projects/{project_id}/integrations",
        "/v1/tenants/{tenant_id}/projects/{project_id}/events",
        "/v1/tenants/{tenant_id}/projects/{project_id}/hooks",
        "/v1/tenants/{tenant_id}/projects/{project_id}/hooks/{hook_id}",
        "/v1/tenants/{tenant_id}/projects/{project_id}/deliveries/{delivery_id}",
        "/v1/tenants/{tenant_id}/projects/{project_id}/deliveries/{delivery_id}/resend",
        "/api/console/integrations/{integration_type}/install",
        "/api/console/integrations/{integration_type}/admin-consent",
    }
