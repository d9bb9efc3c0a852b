"""Production stays production, proven from outside: real processes, real Postgres and Redis.

- An unset TMS_ENV is production.
- Production refuses to start on dev and test conveniences (the stand-in providers, the demo login) and
  on provider endpoints at loopback or private addresses: exit status 2, one line naming the variable.
- A production server serves none of the sandbox and no demo login, and its SSRF guard refuses local
  webhook URLs, exactly as in every other mode.
"""

from __future__ import annotations

import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from devtools.seed import demo_id
from tests.utils.identities import project_id, token_for
from tests.utils.live import free_port, production_env, sandbox_origin
from tms_console.settings import Settings

SERVE = [sys.executable, "-m", "uvicorn", "--factory", "tms_console.api:create_api", "--port"]
REFUSED = "tms-console: configuration refused: "


def test_an_unset_tms_env_is_production(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in set(os.environ) - set(production_env()):
        monkeypatch.delenv(name)
    assert "TMS_ENV" not in os.environ
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.tms_env == "prod" and not settings.demo_login and settings.dev_origin is None
    monkeypatch.setenv("JWT_SECRET", "changethis")
    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("setting", "value", "line"),
    [
        ("TMS_SANDBOX", "1", "TMS_SANDBOX=1 is refused in production"),
        ("DEMO_LOGIN", "1", "DEMO_LOGIN=1 is refused in production"),
        ("INTAKE_COMMIT_PAUSE_SECONDS", "5", "INTAKE_COMMIT_PAUSE_SECONDS is refused in production"),
        ("DISCORD_API_BASE", "http://127.0.0.1:9/api", "DISCORD_API_BASE points at a loopback"),
        (
            "SLACK_AUTHORIZE_URL",
            "https://10.1.2.3/oauth",
            "SLACK_AUTHORIZE_URL points at a loopback, private",
        ),
        ("MSTEAMS_GRAPH_API_BASE", "https://localhost/v1.0", "MSTEAMS_GRAPH_API_BASE points at a local host"),
        ("TELEGRAM_API_BASE", "https://[::1]:8443", "TELEGRAM_API_BASE points at a loopback"),
        ("WHATSAPP_API_BASE", "https://169.254.169.254/", "WHATSAPP_API_BASE points at a loopback"),
        ("GOOGLE_CHAT_API_BASE", "http://oauth2.example.com", "GOOGLE_CHAT_API_BASE points at a plain-http"),
        ("SANDBOX_BASE_URL", "http://127.0.0.1:3001", "SANDBOX_BASE_URL points at a loopback"),
        # Keys that authenticate provider events: a guessable one lets anyone forge an uninstall.
        ("SLACK_SIGNING_SECRET", "changeme", "SLACK_SIGNING_SECRET must be the provider's real secret"),
        # (the sandbox's dev values are too short on purpose)
        (
            "WHATSAPP_VERIFY_TOKEN",
            "sbx-wa-verify",
            "WHATSAPP_VERIFY_TOKEN must be the provider's real secret",
        ),
        ("DISCORD_PUBLIC_KEY", "not-a-key", "DISCORD_PUBLIC_KEY must be the app's Ed25519 public key"),
    ],
)
def test_production_refuses_to_start(setting: str, value: str, line: str, database_url, redis_url) -> None:
    done = subprocess.run(
        [*SERVE, str(free_port())],
        env=production_env(**{setting: value}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    refusals = [row for row in done.stderr.splitlines() if row.startswith(REFUSED)]
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(refusals) == 1 and refusals[0].startswith(REFUSED + line), done.stderr[-2000:]
    assert "Uvicorn running" not in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_the_reflex_console_refuses_to_start_too(database_url, redis_url) -> None:
    """The console's own entry point (the Reflex app imports create_api) ends the same way."""
    reflex = str(Path(sys.executable).parent / "reflex")
    done = subprocess.run(
        [reflex, "run", "--env", "prod", "--backend-only", "--backend-port", str(free_port())],
        env=production_env(TMS_SANDBOX="1", REFLEX_TELEMETRY_ENABLED="false"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode != 0
    assert REFUSED + "TMS_SANDBOX=1 is refused in production" in done.stdout + done.stderr


@pytest.fixture(scope="module")
def production(live_url: str, database_url: str, redis_url: str) -> Iterator[str]:
    """The console API started as production starts it (nothing says dev), on the test database."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = production_env(PUBLIC_BASE_URL="https://console.example.com")
    with subprocess.Popen(
        [*SERVE, str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as server:
        try:
            _wait(url, server)
            yield url
        finally:
            server.terminate()
            server.wait(20)


def _wait(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        try:
            if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("the production server did not start")


def test_production_serves_no_sandbox_and_no_demo_login(production: str, sandbox_url: str) -> None:
    # Control: in test mode the sandbox answers on its own origin, and the demo login exists.
    assert httpx.get(f"{sandbox_url}/sandbox/discord/_inspect").status_code == 200
    for path in ("/sandbox/discord/_inspect", "/sandbox/discord/oauth2/authorize", "/sandbox/slack/_fault"):
        assert httpx.get(production + path).status_code == 404, path
        assert httpx.put(production + path, json={"mode": "html"}).status_code in (404, 405), path
    demo = httpx.post(
        production + "/api/session/demo", data={"user_id": str(demo_id("Acme", "alice@acme.example"))}
    )
    assert demo.status_code == 404 and "set-cookie" not in demo.headers
    paths = [route["path"] for route in _openapi_paths(production)]
    assert paths and not any("sandbox" in p or "demo" in p for p in paths)


def _openapi_paths(url: str) -> list[dict[str, str]]:
    return [{"path": path} for path in httpx.get(url + "/openapi.json").json()["paths"]]


def test_production_lists_real_endpoints_only(production: str) -> None:
    project = project_id("Acme", "Customer Support")
    listing = httpx.get(
        f"{production}/v1/tenants/{demo_id('Acme')}/projects/{project}/integrations",
        headers={"Authorization": f"Bearer {token_for()}"},
    )
    assert listing.status_code == 200
    cards = listing.json()["integrations"]
    assert len(cards) == 7 and not any(card["stand_in"] for card in cards)
    # Without credentials a provider is not configured; it is never silently played by the sandbox.
    assert {card["status"] for card in cards if card["type"] in ("discord", "slack")} == {"not_configured"}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("{sandbox}/sandbox/webhook/receive/prod", "https://"),  # the sandbox's own origin: not special here
        ("https://127.0.0.1:{port}/hook", "loopback"),
        ("https://localhost:{port}/hook", "loopback"),
        ("https://10.0.0.7/hook", "private"),
    ],
)
def test_production_refuses_local_webhook_urls(
    production: str, sandbox_url: str, url: str, reason: str, db
) -> None:
    project = project_id("Acme", "Customer Support")
    before, hooks = _webhook_row(db, project), _hooks(db, project)
    with _listener() as (port, received):
        target = url.format(sandbox=sandbox_origin(), port=port)
        answer = httpx.post(
            f"{production}/v1/tenants/{demo_id('Acme')}/projects/{project}/integrations/webhook",
            headers={"Authorization": f"Bearer {token_for()}"},
            json={"url": target, "events": ["ticket.created"]},
            timeout=15,
        )
        assert answer.status_code == 400 and answer.json()["reason"] == "invalid_input"
        assert reason in answer.json()["detail"]
        hook = httpx.post(  # a REST hook (Zapier, Make) follows the same rules
            f"{production}/v1/tenants/{demo_id('Acme')}/projects/{project}/hooks",
            headers={"Authorization": f"Bearer {token_for()}"},
            json={"target_url": target, "event": "*"},
            timeout=15,
        )
        assert hook.status_code == 400 and hook.json()["reason"] == "invalid_input"
        assert reason in hook.json()["detail"]
        assert received == []
    assert _webhook_row(db, project) == before
    assert _hooks(db, project) == hooks


def _hooks(db, project: object) -> object:
    return db.execute("SELECT id FROM rest_hooks WHERE project_id = %s ORDER BY id", (project,)).fetchall()


def _webhook_row(db, project: object) -> object:
    query = "SELECT id, meta, updated_at FROM project_integrations WHERE integration_type = %s"
    return db.execute(query + " AND project_id = %s", ("webhook", project)).fetchone()


@contextmanager
def _listener() -> Iterator[tuple[int, list[bytes]]]:
    """A local TCP server that records whatever reaches it (nothing may)."""
    received: list[bytes] = []

    class Record(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            received.append(self.request.recv(100))

    with socketserver.TCPServer(("127.0.0.1", 0), Record) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.server_address[1]
        try:
            with socket.create_connection(("127.0.0.1", port)) as probe:  # control: it does receive
                probe.sendall(b"probe")
            deadline = time.monotonic() + 5
            while not received and time.monotonic() < deadline:
                time.sleep(0.01)
            assert received.pop() == b"probe"
            yield port, received
        finally:
            server.shutdown()
            thread.join(5)
