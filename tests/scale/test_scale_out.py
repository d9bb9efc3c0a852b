"""Scale out: two backend-only consoles (two workers each) share Postgres and Redis behind one frontend.

The proxy in front (tests/utils/backends.py) routes every backend request to the backend the test
names, so each step below runs exactly where the test says, and the proxy's records prove it.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import httpx
import psycopg
import redis
from playwright.sync_api import Page, WebSocket, expect

from tests.utils.backends import ROUTE_HEADER, ScaleOut
from tests.utils.forms import click
from tests.utils.identities import project_id, token_for

ON_A, ON_B = {ROUTE_HEADER: "a"}, {ROUTE_HEADER: "b"}
# Reflex shows this icon while its websocket is down (connectErrors not empty), and removes it on connect.
OFFLINE_ICON = "[title^='Connection Error: '] svg"


def test_each_backend_is_a_separate_server_with_two_workers(scale: ScaleOut) -> None:
    for name, backend in scale.backends.items():
        assert backend.processes() == 3, f"backend {name}: reflex plus two Granian workers"
    with httpx.Client(base_url=scale.url, timeout=30) as client:
        for headers in (ON_A, ON_B):
            assert client.get("/api/health", headers=headers).json() == {"database": "ok", "redis": "ok"}
    assert scale.proxy.served_by("a") and scale.proxy.served_by("b")


def test_install_started_on_backend_a_completes_on_backend_b(scale: ScaleOut, db: psycopg.Connection) -> None:
    project = project_id("Acme", "Customer Support")
    callback_path = "/api/public/integrations/discord/callback"
    with httpx.Client(base_url=scale.url, follow_redirects=False, timeout=30) as client:
        signed_in = client.post("/api/session", headers={"Authorization": f"Bearer {token_for()}", **ON_B})
        assert signed_in.status_code == 204
        # Install pressed in the console: backend A mints the OAuth state (Redis) and the binding cookie.
        start = client.get(
            "/api/console/integrations/discord/install", params={"project_id": str(project)}, headers=ON_A
        )
        assert start.status_code == 303, start.text
        consent = client.get(start.headers["location"], headers=ON_A)
        assert consent.status_code == 200 and consent.url.path.startswith("/sandbox/discord/")
        method, action, data = click(consent.text, str(consent.url), "approve")
        approved = client.request(method, action, data=data, headers=ON_A)
        assert approved.status_code in (302, 303), approved.text
        callback = approved.headers["location"]
        assert callback.startswith(scale.url + callback_path)
        # The provider sends the browser back; the load balancer picks backend B this time.
        done = client.get(callback, headers=ON_B)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == (
        f"{scale.url}/projects/{project}/integrations?status=success&integration=discord"
    )
    rows = db.execute(
        "SELECT status, installed_by_name FROM project_integrations "
        "WHERE project_id = %s AND integration_type = 'discord'",
        (project,),
    ).fetchall()
    assert rows == [("active", "Alice")]
    assert f"GET {callback_path}" in scale.proxy.served_by("b")
    assert f"GET {callback_path}" not in scale.proxy.served_by("a")
    assert "GET /api/console/integrations/discord/install" in scale.proxy.served_by("a")


def sign_in(page: Page, who: str) -> None:
    page.goto("/login")
    page.locator(f"#login-{who}").click()
    page.wait_for_url("**/projects/*/integrations**")
    expect(page.locator("#cards")).to_be_visible()


def wait_until(page: Page, condition: Callable[[], bool], what: str, timeout_ms: int = 30_000) -> None:
    """Poll while Playwright keeps dispatching the page's events; fail with `what` if it never holds."""
    for _ in range(timeout_ms // 250):
        if condition():
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"timed out waiting for: {what}")


def first_state_frame(page: Page, sockets: list[list[str]], since: int) -> str:
    """The first frame carrying the integrations state on the websockets opened since `since`.

    On a reconnect Reflex answers the hydrate with the whole state as the backend loaded it, before
    on_load reloads anything: the state a previous backend left in Redis, or the defaults (an empty
    project name) when the session starts over.
    """

    def frames() -> list[str]:
        return [frame for received in sockets[since:] for frame in received if "project_name" in frame]

    wait_until(page, lambda: bool(frames()), "the state on the new websocket")
    return frames()[0]


def test_console_session_survives_the_restart_of_the_backend_that_served_it(
    page: Page, scale: ScaleOut, db: psycopg.Connection, redis_url: str
) -> None:
    proxy = scale.proxy
    proxy.route_to("a", drop_websockets=True)
    sockets: list[list[str]] = []  # frames received, per websocket the page opened, in order

    def watch(ws: WebSocket) -> None:
        received: list[str] = []
        sockets.append(received)
        ws.on("framereceived", lambda payload: received.append(str(payload)))

    def token() -> str:
        return str(page.evaluate("window.sessionStorage.getItem('token')"))

    def reconnected_to(name: str, since: int) -> None:
        wait_until(page, lambda: name in proxy.websockets[since:], f"a websocket to backend {name}")
        expect(page.locator(OFFLINE_ICON)).to_have_count(0)

    page.on("websocket", watch)
    sign_in(page, "alice")
    expect(page.locator("#project-name")).to_have_text("Billing Desk")
    page.locator("#install-discord").click()
    page.wait_for_url("**/sandbox/discord/**")
    page.locator("#approve").click()
    page.wait_for_url("**/projects/*/integrations?status=success**")
    expect(page.locator("#status-discord")).to_have_text("Connected")
    expect(page.locator(OFFLINE_ICON)).to_have_count(0)
    assert proxy.websockets and set(proxy.websockets) == {"a"}, proxy.websockets

    # The session's state is in Redis, under the tab's client token.
    session = token()
    store = redis.Redis.from_url(redis_url)
    # The page's shared state (project, projects); its concerns are substates under their own keys.
    state_keys = [key for key in store.keys(f"{session}_*") if key.endswith(b"integrations_state")]
    assert len(state_keys) == 1 and b"Billing Desk" in store.get(state_keys[0])

    # 1. Backend A is stopped (a deploy, a scale-in) and the tab reconnects to B by itself. The tab
    # reaches B only once A has exited. The session then goes on with the state A left in Redis, except
    # when Reflex 0.10.1 hands the tab a new client token: it does when the old backend's record of the
    # socket (token_manager_socket_record_<token>) is still in Redis, always after a crash and now and
    # then after a clean stop. Then the page starts a new Reflex session and on_load rebuilds it.
    proxy.route_to(None)
    scale.backends["a"].stop(signal.SIGTERM)
    expect(page.locator(OFFLINE_ICON)).not_to_have_count(0)
    sockets_before, websockets_before = len(sockets), len(proxy.websockets)
    proxy.route_to("b")
    reconnected_to("b", websockets_before)
    rehydrated = first_state_frame(page, sockets, sockets_before)
    expect(page.locator("#project-name")).to_have_text("Billing Desk")  # the page has applied it
    if token() == session:
        assert "Billing Desk" in rehydrated
    expect(page.locator("#status-discord")).to_have_text("Connected")
    page.locator("#uninstall-discord").click()
    expect(page.locator("#uninstall-confirm")).to_be_visible()
    page.locator("#uninstall-confirm").click()
    expect(page.locator("#status-discord")).to_have_text("Not connected")
    expect(page.locator("#flash")).to_contain_text("Discord was disconnected")
    billing = project_id("Acme", "Billing Desk")
    installed = (
        "SELECT count(*) FROM project_integrations WHERE project_id = %s AND integration_type = 'discord'"
    )
    assert db.execute(installed, (billing,)).fetchone() == (0,)

    # 2. A is back and B is stopped in turn: the tab moves to A, with what B changed in its session.
    session = token()
    scale.restart("a")
    proxy.route_to(None)
    scale.backends["b"].stop(signal.SIGTERM)
    expect(page.locator(OFFLINE_ICON)).not_to_have_count(0)
    sockets_before, websockets_before = len(sockets), len(proxy.websockets)
    proxy.route_to("a")
    reconnected_to("a", websockets_before)
    rehydrated = first_state_frame(page, sockets, sockets_before)
    expect(page.locator("#project-name")).to_have_text("Billing Desk")
    if token() == session:
        assert "Discord was disconnected" in rehydrated
    page.locator("#project-switcher").click()
    page.get_by_role("option", name="Onboarding").click()
    page.wait_for_url(f"**/projects/{project_id('Acme', 'Onboarding')}/integrations")
    expect(page.locator("#project-name")).to_have_text("Onboarding")
    assert set(proxy.websockets[websockets_before:]) == {"a"}, proxy.websockets
    scale.restart("b")

    # 3. A crashes (SIGKILL: no shutdown at all). The tab reconnects to B and keeps working, with a
    # new Reflex session (A's socket record stays in Redis until redis_token_expiration).
    scale.backends["a"].stop(signal.SIGKILL)
    expect(page.locator(OFFLINE_ICON)).not_to_have_count(0)
    sockets_before, websockets_before = len(sockets), len(proxy.websockets)
    proxy.route_to("b")
    reconnected_to("b", websockets_before)
    expect(page.locator("#project-name")).to_have_text("Onboarding")
    expect(page.locator("#status-discord")).to_have_text("Not connected")
    page.locator("#project-switcher").click()
    page.get_by_role("option", name="Billing Desk").click()
    page.wait_for_url(f"**/projects/{billing}/integrations")
    expect(page.locator("#project-name")).to_have_text("Billing Desk")
    expect(page.locator("#status-discord")).to_have_text("Not connected")

    # A is restarted and the load balancer drains B: the tab goes back to A.
    scale.restart("a")
    websockets_before = len(proxy.websockets)
    proxy.route_to("a", drop_websockets=True)
    reconnected_to("a", websockets_before)
    page.locator("#project-switcher").click()
    page.get_by_role("option", name="Customer Support").click()
    page.wait_for_url(f"**/projects/{project_id('Acme', 'Customer Support')}/integrations")
    expect(page.locator("#project-name")).to_have_text("Customer Support")
    assert set(proxy.websockets[websockets_before:]) == {"a"}, proxy.websockets
