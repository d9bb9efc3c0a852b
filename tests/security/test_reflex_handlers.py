"""Reflex event handlers are public endpoints: every one, called by anyone, with anything.

Runs against the real console (`reflex run --env prod`, two workers) through a raw socket.io
client (tests/utils/reflex_client.py). SECURITY.md, "Identity and tenancy": each handler
re-checks the session; `_helpers` cannot be called; another tenant's ids behave like missing
ones; no secret or other tenant's data in websocket frames; `cors_allowed_origins` is the console.
"""

from __future__ import annotations

import inspect
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest
import socketio

from tests.utils.details import wait_for_meta
from tests.utils.forms import click
from tests.utils.identities import project_id, token_for
from tests.utils.reflex_client import HYDRATE, ReflexClient
from tms_console import tms_console  # registers every state and handler (in this context)
from tms_console.settings import clear_settings_cache
from tms_console.state.integrations import CardsState, IntegrationsState

clear_settings_cache()  # the app read the settings before the fixtures set the test database

ACME_PROJECTS = ["Customer Support", "Billing Desk", "Onboarding"]
GLOBEX_PROJECTS = ["Helpdesk", "Field Service", "VIP Care"]
ACME_PROJECT = str(project_id("Acme", "Customer Support"))
ACME_PAGE = f"/projects/{ACME_PROJECT}/integrations"
GARY = ("Globex", "gary@globex.example")
INTEGRATIONS = IntegrationsState.get_full_name()
CARDS = CardsState.get_full_name()


def session(tenant: str = "Acme", email: str = "alice@acme.example") -> str:
    return "tms_session=" + token_for(tenant, email)


def spoofed_route(cookie_token: str) -> dict[str, Any]:
    """Route data claiming Acme's project page, its query and Alice's session in `headers.cookie`."""
    return {
        "pathname": ACME_PAGE,
        "asPath": ACME_PAGE + "?status=success&integration=discord",
        "query": {"project_id": ACME_PROJECT, "status": "success", "integration": "discord"},
        "headers": {"cookie": f"tms_session={cookie_token}"},
        "ip": "10.0.0.1",
        "sid": "spoofed",
        "token": "spoofed",
    }


def snapshot(db: psycopg.Connection) -> list[tuple]:
    return db.execute(
        "SELECT i.*, c.key_id, c.nonce, c.ciphertext, c.updated_at FROM project_integrations i "
        "LEFT JOIN integration_credentials c ON c.integration_id = i.id ORDER BY i.id"
    ).fetchall()


@pytest.fixture(scope="module")
def planted(console: dict[str, str], database_url: str) -> dict[str, str]:
    """Alice installs Discord on Acme's "Customer Support" through the console's sandbox provider."""
    with httpx.Client(base_url=console["url"], follow_redirects=False, timeout=30) as client:
        client.cookies.set("tms_session", token_for(), domain="localhost.local")
        start = client.get("/api/console/integrations/discord/install", params={"project_id": ACME_PROJECT})
        assert start.status_code == 303, start.text
        consent = client.get(start.headers["location"])
        method, action, data = click(consent.text, str(consent.url), "approve")
        callback = client.request(method, action, data=data)
        done = client.get(callback.headers["location"])
        assert "status=success" in done.headers["location"]
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        meta = wait_for_meta(conn, "discord", ACME_PROJECT, "channel_name")  # fetched after the redirect
    return {"guild": meta["guild_name"], "channel": meta["channel_name"]}


def state_classes() -> list[Any]:
    """The app's whole state tree (Reflex's own states included), after the app registered it."""
    from reflex.state import State

    assert tms_console.app is not None
    found, todo = [], [State]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.get_substates())
    return found


def app_handlers() -> dict[str, Any]:
    """Every public event handler of every state class, by event name (new ones are covered)."""
    return {
        f"{cls.get_full_name()}.{name}": handler
        for cls in state_classes()
        for name, handler in cls.event_handlers.items()
    }


def private_helpers() -> list[str]:
    """`_underscore` methods of the console's states (and a few of Reflex's), by event name."""
    names = []
    for cls in state_classes():
        own = cls.__module__.startswith("tms_console.")
        for attr, value in vars(cls).items():
            private = attr.startswith("_") and not attr.startswith("__")
            if private and inspect.isfunction(value) and (own or attr in REFLEX_PRIVATE):
                names.append(f"{cls.get_full_name()}.{attr}")
    return sorted(names)


REFLEX_PRIVATE = {"_clean", "_reset_client_storage", "_mark_dirty"}


def _state_class(full_name: str) -> Any:
    return next(cls for cls in state_classes() if cls.get_full_name() == full_name)


HOSTILE: list[Any] = [
    ACME_PROJECT,
    str(project_id("Acme", "Billing Desk")),
    "discord",
    "slack",
    "webhook",
    12345,
    None,
    True,
    ["discord", ACME_PROJECT],
    {"project_id": ACME_PROJECT, "integration_type": "discord"},
    "x" * 100_000,
    "../../../etc/passwd",
    "discord' OR '1'='1",
    "disc\x00ord",
]


def payloads(name: str, handler: Any) -> list[dict[str, Any]]:
    """No arguments, unexpected ones, and each parameter set to each hostile value."""
    params = [p for p in inspect.signature(handler.fn).parameters if p != "self"]
    if name.endswith(".setvar"):
        cls = _state_class(name.rpartition(".")[0])
        var_names = [*cls.base_vars, *getattr(cls, "backend_vars", {}), "_owner", "router", "project_id"]
        return [{"var_name": v, "value": value} for v in var_names for value in (ACME_PROJECT, [], 1)]
    out: list[dict[str, Any]] = [{}, {"project_id": ACME_PROJECT, "tenant_id": "acme"}]
    for param in params:
        for value in HOSTILE:
            out.append({p: "discord" for p in params} | {param: value})
    return out


def assert_no_leak(text: str, planted: dict[str, str], console: dict[str, str], *tokens: str) -> None:
    for secret in (console["canary"], planted["guild"], *ACME_PROJECTS, *tokens):
        assert secret not in text, f"frame leaked {secret[:40]!r}"


def forged_token() -> str:
    """Alice's claims, signed with a key the console does not hold."""
    claims = jwt.decode(token_for(), options={"verify_signature": False})
    return jwt.encode(claims, "an-attackers-own-key-0123456789abcdef", algorithm="HS256")


async def test_websocket_refuses_a_foreign_origin(console: dict[str, str]) -> None:
    evil = ReflexClient(console["url"], origin="https://evil.example")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await evil.connect()
    async with ReflexClient(console["url"]) as own:
        frames = await own.call(HYDRATE)
    assert frames


async def test_identity_comes_from_the_handshake_not_router_data(
    console: dict[str, str], planted: dict[str, str]
) -> None:
    """Reflex overwrites router_data["headers"] with the handshake's: a cookie in the event is ignored."""
    alice = token_for()
    load = INTEGRATIONS + ".load"
    async with ReflexClient(console["url"]) as anonymous:
        frames = await anonymous.call(load, {}, spoofed_route(alice))
        assert ReflexClient.redirects(frames) == ["/login"]
        assert_no_leak(anonymous.text(), planted, console, alice)
    async with ReflexClient(console["url"], cookie=session(*GARY)) as gary:
        frames = await gary.call(load, {}, spoofed_route(alice))
        view = ReflexClient.state(frames, INTEGRATIONS)
        assert view["user_name_rx_state_"] == "Gary"
        assert sorted(p["name"] for p in view["projects_rx_state_"]) == sorted(GLOBEX_PROJECTS)
        assert "not part of your organisation" in view["load_error_rx_state_"]
        assert ReflexClient.state(frames, CARDS)["cards_rx_state_"] == []
        assert_no_leak(gary.text(), planted, console, alice)
    # Control: the same load with Alice's own handshake shows her project, so the scans above can fail.
    async with ReflexClient(console["url"], cookie=session()) as owner:
        frames = await owner.call(load, {}, {"pathname": ACME_PAGE, "asPath": ACME_PAGE})
        assert "Customer Support" in owner.text() and planted["guild"] in owner.text()
        assert alice not in owner.text()  # the session cookie itself never reaches the browser


@pytest.mark.parametrize("caller", ["anonymous", "globex", "forged", "expired"])
async def test_every_handler_with_hostile_arguments_changes_and_leaks_nothing(
    console: dict[str, str], planted: dict[str, str], db: psycopg.Connection, caller: str
) -> None:
    cookies = {
        "anonymous": None,
        "globex": session(*GARY),
        "forged": "tms_session=" + forged_token(),
        "expired": "tms_session=" + _expired_alice(),
    }
    handlers = app_handlers()
    assert {"load", "confirm_uninstall", "switch_project", "ask_uninstall", "route"} <= {
        n.rpartition(".")[2] for n in handlers
    }
    before = snapshot(db)
    alice = token_for()
    integrations = INTEGRATIONS
    async with ReflexClient(console["url"], cookie=cookies[caller]) as client:
        # The attack a user would try first: point the page at Acme's project, then uninstall.
        route = spoofed_route(alice)
        await client.call(integrations + ".load", {}, route)
        await client.call(CARDS + ".ask_uninstall", {"integration_type": "discord"}, route)
        await client.call(CARDS + ".confirm_uninstall", {"integration_type": "discord"}, route, settle=1)
        # Events of one token run in order: send a handler's whole batch, then one hydrate as the
        # barrier (a hydrate per event made this test take minutes). Background tasks keep running
        # and report later; the final quiet period collects their frames for the scans below.
        for name, handler in sorted(handlers.items()):
            *batch, last = payloads(name, handler)
            for payload in batch:
                await client.emit(name, payload, route)
            await client.call(name, last, route, settle=0.0)
        await client.quiet(3.0)
        text = client.text()
        view = ReflexClient.state(client.frames, integrations)
    assert snapshot(db) == before
    assert_no_leak(text, planted, console, alice)
    assert view.get("user_name_rx_state_", "") in ("", "Gary")
    redirects = set(ReflexClient.redirects(client.frames))
    assert redirects <= {
        "/login",
        *(f"/projects/{project_id('Globex', p)}/integrations" for p in GLOBEX_PROJECTS),
    }


def _expired_alice() -> str:
    claims = jwt.decode(token_for(), options={"verify_signature": False})
    claims["exp"] = claims["iat"] = claims["nbf"] = 1_000_000_000
    from tms_console.settings import get_settings

    secret = get_settings().jwt_secret
    assert secret is not None
    return jwt.encode(claims, secret.get_secret_value(), algorithm="HS256")


async def test_underscore_helpers_are_refused(
    console: dict[str, str], planted: dict[str, str], db: psycopg.Connection
) -> None:
    helpers = private_helpers()
    assert {f"{INTEGRATIONS}._show", f"{CARDS}._reload"} <= set(helpers)
    before = snapshot(db)
    log = Path(console["log"])
    async with ReflexClient(console["url"], cookie=session(*GARY)) as client:
        for name in helpers:
            frames = await client.call(name, {"identity": None}, spoofed_route(token_for()))
            assert len(frames) == 1, f"{name} produced frames of its own"  # only the hydrate barrier
        text = client.text()
    assert snapshot(db) == before
    assert_no_leak(text, planted, console, token_for())
    refused = log.read_text()
    for name in helpers:
        assert f"No registered handler found for event: {name}" in refused, name


async def test_a_reused_client_token_does_not_hand_over_the_previous_users_state(
    console: dict[str, str], planted: dict[str, str]
) -> None:
    """Same tab, Alice signs out and Gary signs in: state is keyed by the tab's token, not the user."""
    load = INTEGRATIONS + ".load"
    async with ReflexClient(console["url"], cookie=session()) as alice:
        await alice.call(load, {}, {"pathname": ACME_PAGE, "asPath": ACME_PAGE})
        assert "Customer Support" in alice.text()
        tab = alice.token
    for cookie in (session(*GARY), None):
        async with ReflexClient(console["url"], cookie=cookie, token=tab) as next_user:
            await next_user.call(HYDRATE, {}, {"pathname": ACME_PAGE, "asPath": ACME_PAGE})
            await next_user.call(INTEGRATIONS + ".dismiss_flash")
            assert_no_leak(next_user.text(), planted, console)
            assert "Alice" not in next_user.text()


async def test_the_owner_can_still_uninstall(
    console: dict[str, str], planted: dict[str, str], db: psycopg.Connection
) -> None:
    """Control for the sweeps above: the same events with Alice's own session do change the row."""
    integrations = INTEGRATIONS
    route = {"pathname": ACME_PAGE, "asPath": ACME_PAGE}
    async with ReflexClient(console["url"], cookie=session()) as alice:
        await alice.call(integrations + ".load", {}, route)
        await alice.call(CARDS + ".ask_uninstall", {"integration_type": "discord"}, route)
        await alice.call(CARDS + ".confirm_uninstall", {"integration_type": "discord"}, route, settle=2)
        assert "Discord was disconnected" in alice.text()
        assert console["canary"] not in alice.text()
    gone = db.execute(
        "SELECT count(*) FROM project_integrations WHERE project_id = %s AND integration_type = 'discord'",
        (uuid.UUID(ACME_PROJECT),),
    ).fetchone()
    assert gone == (0,)
