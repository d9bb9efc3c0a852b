"""Probe Postgres and Redis with short timeouts."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from redis.exceptions import RedisError

from tms_console.domain.errors import Unavailable
from tms_console.persistence.redis import get_redis
from tms_console.services.unit_of_work import unit_of_work


async def _database() -> str:
    try:
        async with asyncio.timeout(3), unit_of_work() as session:
            await session.execute(sa.text("SELECT 1"))
    except (Unavailable, TimeoutError):
        return "down"
    return "ok"


async def _redis() -> str:
    try:
        async with asyncio.timeout(3):
            await get_redis().ping()  # type: ignore[misc]
    except (RedisError, TimeoutError, OSError):
        return "down"
    return "ok"


async def check() -> dict[str, str]:
    database, redis = await asyncio.gather(_database(), _redis())
    return {"database": database, "redis": redis}
