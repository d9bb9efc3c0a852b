"""Shared fixtures: real Postgres and Redis (embedded ones when DATABASE_URL/REDIS_URL are unset).

The environment is fixed here, before any application module reads its settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from tms_console import services_runtime
from tms_console.security.keyring import generate_key_spec

TEST_DATABASE = "tms_console_test"
TEST_REDIS_DB = 1

os.environ["TMS_ENV"] = "test"
os.environ.setdefault("JWT_SECRET", "test-jwt-secret-" + os.urandom(16).hex())
os.environ.setdefault("TOKEN_ENCRYPTION_KEYS", generate_key_spec("t1"))
os.environ["TMS_SANDBOX"] = "1"


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
    return url
