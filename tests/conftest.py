"""Shared fixtures: real Postgres and Redis (embedded ones when DATABASE_URL/REDIS_URL are unset).

The environment is fixed here, before any application module reads its settings.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from playwright.sync_api import Browser

from devtools import services as services_runtime
from tests.utils import artifacts
from tests.utils.browser import launched_chromium
from tests.utils.console import run_console
from tests.utils.deliveries import running_worker
from tests.utils.live import configure_env, free_port, seed_demo, serve_api, serve_sandbox, use_sandbox
from tms_console.security.keyring import generate_key_spec
from tms_console.settings import clear_settings_cache

# Overridable so that several test runs can share one Postgres and one Redis without clashing.
TEST_DATABASE = os.environ.get("TMS_TEST_DATABASE", "tms_console_test")
TEST_REDIS_DB = int(os.environ.get("TMS_TEST_REDIS_DB", "1"))

CANARY = "CANARY" + secrets.token_hex(6)
# The sandbox providers are served on their own origin, as a real provider would be (`live_url`).
SANDBOX_URL = f"http://127.0.0.1:{free_port()}"

os.environ["TMS_ENV"] = "test"
os.environ["DEMO_LOGIN"] = "1"
os.environ.setdefault("JWT_SECRET", "test-jwt-secret-" + os.urandom(16).hex())
os.environ.setdefault("TOKEN_ENCRYPTION_KEYS", generate_key_spec("t1"))
use_sandbox(SANDBOX_URL, CANARY)
# A provider that hangs fails a test in seconds, not in the production default.
os.environ.setdefault("PROVIDER_TIMEOUT_SECONDS", "3")
# Every application logger at its most verbose (httpx, httpcore and SQL included): the leak sweep in
# tests/leaks/ then proves no canary secret reached any of it.
os.environ["LOG_LEVEL"] = "DEBUG"
# GET /metrics is on for the suite (the leak sweep reads it); tests/integration/test_metrics.py turns it off.
os.environ.setdefault("METRICS_TOKEN", "metrics-" + secrets.token_hex(16))
# The suite drives thousands of installs from one address; tests/security/test_rate_limits.py lowers
# the limits where it proves them.
os.environ.setdefault("CALLBACK_RATE_LIMIT", "1000000")
os.environ.setdefault("INSTALL_RATE_LIMIT", "1000000")


def _redis_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


@pytest.fixture(scope="session")
def service_urls() -> Iterator[services_runtime.ServiceUrls]:
    urls = services_runtime.ensure_services()
    yield urls
    services_runtime.stop_services(urls)


@pytest.fixture(scope="session")
def database_url(service_urls: services_runtime.ServiceUrls) -> str:
    """A fresh, migrated test database; exported as DATABASE_URL."""
    url = services_runtime.with_database(service_urls.database_url, TEST_DATABASE)
    services_runtime.ensure_database(url, recreate=True)
    services_runtime.migrate(url)
    os.environ["DATABASE_URL"] = url
    clear_settings_cache()  # a test that read the settings before this fixture must not keep the old URL
    return url


@pytest.fixture(scope="session")
def redis_url(service_urls: services_runtime.ServiceUrls) -> str:
    """A Redis database of its own for the tests, emptied once; exported as REDIS_URL."""
    import redis

    url = _redis_db(service_urls.redis_url, TEST_REDIS_DB)
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    os.environ["REDIS_URL"] = url
    clear_settings_cache()
    return url


@pytest.fixture(scope="session")
def live_url(database_url: str, redis_url: str) -> Iterator[str]:
    """The API served in-process over real HTTP on the test database, with the sandbox providers
    on their own origin (`sandbox_url`)."""
    port = free_port()
    configure_env(port)
    seed_demo()
    with serve_sandbox(SANDBOX_URL, console_url=f"http://127.0.0.1:{port}", canary=CANARY):
        with serve_api(port) as url:
            yield url


@pytest.fixture(scope="session")
def sandbox_url(live_url: str) -> str:
    """The origin of the sandbox providers `live_url`'s console uses."""
    return SANDBOX_URL


@pytest.fixture(scope="session")
def canary() -> str:
    """Planted by the sandbox in every secret it issues to `live_url`'s console."""
    return CANARY


@pytest.fixture(scope="module")
def worker(live_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`python -m tms_console.worker` beside `live_url` for the module's tests (deliveries, a first
    install's details); its log. It must still run at the end."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with running_worker(log) as process:
        yield log
        assert process.poll() is None, log.read_text()[-3000:]


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    """A plain autocommit connection to the test database, for direct reads and tampering."""
    with psycopg.connect(
        database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        yield conn


@pytest.fixture(scope="session")
def console(database_url: str, redis_url: str) -> Iterator[dict[str, str]]:
    """The real Reflex console (prod build, two workers): url, log path and sandbox canary."""
    with run_console(database_url) as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def captured_logs() -> Iterator[None]:
    """Application logs of the in-process servers, kept for the leak sweep."""
    artifacts.reset()
    handler = artifacts.capture_logs()
    yield
    logging.getLogger().removeHandler(handler)
    handler.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the whole run (browser tests and the scale-out test): Playwright's sync API
    cannot be started a second time in a process whose asyncio tests already ran."""
    with launched_chromium() as chromium:
        yield chromium
