"""The real console (`reflex run --env prod`, two workers) as a subprocess on the test database, with a job
worker beside it for its own installs queue (a first install's details, as production's worker fetches them,
devtools/server.py). Deliveries and health checks wait for the worker a test starts itself."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

from devtools.server import reflex_command, reflex_env, stop
from tests.utils.artifacts import ARTIFACTS, ROOT
from tests.utils.deliveries import running_worker
from tests.utils.live import free_port, sandbox_env, seed_demo, serve_sandbox

# Short: Telegram bot tokens have room for 19 characters of canary.
E2E_CANARY = "CANARYE" + secrets.token_hex(5)
# The console's first installs queue their details jobs here, not on the `installs` queue of the in-process
# API's (`live_url`) workers on the same database: each worker asks its own server's sandbox.
CONSOLE_INSTALLS_QUEUE = "installs-console"


@contextmanager
def run_console(database_url: str) -> Iterator[dict[str, str]]:
    """Serve the console (Reflex's prod build, TMS_ENV=test) on a free port, with its own sandbox on
    another, and a job worker for its installs queue with the same settings (stopped with the console; its
    log beside the console's); yields the console's URL, its server log path, the sandbox's URL and the
    canary."""
    port = free_port()
    url = f"http://localhost:{port}"
    sandbox_url = f"http://localhost:{free_port()}"
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "console.log"
    settings = {"PUBLIC_BASE_URL": url, "TMS_ENV": "test", "INSTALLS_QUEUE": CONSOLE_INSTALLS_QUEUE}
    settings |= sandbox_env(sandbox_url, E2E_CANARY)
    env = reflex_env(os.environ.copy()) | settings
    seed_demo()
    forget_integrations(database_url)
    command = reflex_command(str(port))
    with serve_sandbox(sandbox_url, console_url=url, canary=E2E_CANARY), log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_ready(url, process, log_path)
            with running_worker(ARTIFACTS / "console-worker.log", CONSOLE_INSTALLS_QUEUE, **settings):
                yield {"url": url, "log": str(log_path), "canary": E2E_CANARY, "sandbox": sandbox_url}
        finally:
            stop(process)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("console exited:\n" + log_path.read_text()[-3000:])
        try:
            if (
                httpx.get(url + "/api/health", timeout=2).status_code == 200
                and httpx.get(url + "/login", timeout=2, follow_redirects=True).status_code == 200
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("console did not become ready:\n" + log_path.read_text()[-3000:])


def forget_integrations(database_url: str) -> None:
    """The browser tests start from "nothing installed", whatever ran before them."""
    with psycopg.connect(
        database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute(
            "TRUNCATE project_integrations, integration_credentials, integration_events, delivery_health, "
            "tenant_settings, integration_health"
        )
