"""The async engine and sessions. The only module that creates database connections."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psycopg
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from tms_console.settings import get_settings


class DatabaseNotConfigured(RuntimeError):
    """DATABASE_URL is not set (the dev server sets it after starting embedded Postgres)."""


class DatabaseUnavailable(Exception):
    """Postgres could not be reached, the connection died, or no pooled connection freed up in time;
    the transaction was rolled back."""


@dataclass(frozen=True)
class PoolSize:
    """Connections a process keeps (`size`) and may open beyond them under a burst (`overflow`), and
    whether each checkout first pings the server (`pre_ping`: one more round trip per transaction; without
    it a connection found dead fails its statement, and the pool drops every connection opened before)."""

    # A web process keeps the 15 connections it may use: overflow connections are closed as soon as
    # they are checked in, so under load (50 callbacks at once) every burst opened new ones.
    size: int = 15
    overflow: int = 0
    pre_ping: bool = True


_pool = PoolSize()


def use_pool(pool: PoolSize) -> None:
    """Size this process's pool before its first query (the worker: one connection per job it runs at
    once, so no job waits for another's connection; no pre-ping, since a job that meets a dead
    connection runs again)."""
    global _pool
    _pool = pool
    get_engine.cache_clear()
    _sessions.cache_clear()


def async_url(url: str) -> str:
    """Normalise any Postgres URL to the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@functools.cache
def get_engine() -> AsyncEngine:
    url = get_settings().database_url
    if not url:
        raise DatabaseNotConfigured("DATABASE_URL is not set")
    return create_async_engine(
        async_url(url),
        pool_pre_ping=_pool.pre_ping,
        pool_size=_pool.size,
        max_overflow=_pool.overflow,
        pool_timeout=5,
        connect_args={"connect_timeout": 5},
    )


@functools.cache
def _sessions(autocommit: bool = False) -> async_sessionmaker[AsyncSession]:
    engine = get_engine()
    if autocommit:  # the same pool; psycopg then sends no BEGIN/COMMIT (no round trips of their own)
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(*, autocommit: bool = False) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any error. `autocommit`: no transaction,
    each statement commits on its own (for work that is one statement, or reads that need no snapshot).

    Connection-level failures surface as DatabaseUnavailable (no driver text, which may hold a DSN).
    """
    try:
        async with _sessions(autocommit)() as session, session.begin():
            yield session
    except (
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.TimeoutError,  # every pooled connection stayed busy for pool_timeout: overloaded
        OSError,
        TimeoutError,
    ) as exc:
        raise DatabaseUnavailable(type(exc).__name__) from None
    except sa_exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailable(type(exc).__name__) from None
        raise


async def dispose_engine() -> None:
    if get_engine.cache_info().currsize:
        await get_engine().dispose()
    get_engine.cache_clear()
    _sessions.cache_clear()


async def accepts_connections(conninfo: str, *, connect_timeout: int = 5) -> bool:
    """Whether Postgres at `conninfo` (a libpq URL) takes a new connection now: the worker's probe while
    it waits out an outage (a server still starting up refuses, so it counts as down)."""
    try:
        connection = await psycopg.AsyncConnection.connect(conninfo, connect_timeout=connect_timeout)
    except (psycopg.OperationalError, OSError):
        return False
    await connection.close()
    return True
