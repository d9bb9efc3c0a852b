"""A live API (plus sandbox providers) on real Postgres and Redis, reached over real HTTP."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest

from tests.utils.live import configure_env, free_port, seed_demo, serve_api

CANARY = "CANARY" + secrets.token_hex(6)


@pytest.fixture(scope="session")
def live_url(database_url: str, redis_url: str) -> Iterator[str]:
    port = free_port()
    configure_env(port, CANARY)
    seed_demo()
    with serve_api(port) as url:
        yield url


@pytest.fixture(scope="session")
def canary() -> str:
    return CANARY


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(
        database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        yield conn
