"""The one way services open a unit of work, and the one mapping from a store outage to a reason code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from psycopg import AsyncConnection
from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.errors import Unavailable
from tms_console.domain.reasons import Reason
from tms_console.persistence.db import DatabaseUnavailable, session_scope, statement


def outage(store: Literal["database", "redis"], *, saving: bool = False) -> Unavailable:
    """The service error for Postgres or Redis being down (nothing was written).

    Args:
        store: which store is down; named in the detail, never shown to users.
        saving: the work was saving an installation, so the user is told it was not saved
            (NOT_SAVED); any other work is UNAVAILABLE.
    """
    return Unavailable(Reason.NOT_SAVED if saving else Reason.UNAVAILABLE, f"{store} unavailable")


@asynccontextmanager
async def unit_of_work(*, saving: bool = False, autocommit: bool = False) -> AsyncIterator[AsyncSession]:
    """One transaction: commits on success, rolls back on any error; a database outage raises `outage()`.

    Args:
        saving: the transaction saves an installation (see `outage`).
        autocommit: no transaction: each statement commits on its own (work that is one statement, or
            reads that need no common snapshot); saves the BEGIN and COMMIT round trips.
    """
    try:
        async with session_scope(autocommit=autocommit) as session:
            yield session
    except DatabaseUnavailable:
        raise outage("database", saving=saving) from None


@asynccontextmanager
async def one_statement(*, saving: bool = False) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection for work that is one statement (atomic on its own), with no ORM session around it;
    a database outage raises `outage()` as `unit_of_work` does."""
    try:
        async with statement() as connection:
            yield connection
    except DatabaseUnavailable:
        raise outage("database", saving=saving) from None
