"""The shared Redis client (OAuth state). Reflex's own session state uses the same server."""

from __future__ import annotations

import functools

import redis.asyncio as aioredis

from tms_console.settings import get_settings


class RedisNotConfigured(RuntimeError):
    """REDIS_URL is not set (the dev server sets it after starting embedded Redis)."""


@functools.cache
def get_redis() -> aioredis.Redis:
    url = get_settings().redis_url
    if not url:
        raise RedisNotConfigured("REDIS_URL is not set")
    return aioredis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3, health_check_interval=30)


async def close_redis() -> None:
    if get_redis.cache_info().currsize:
        await get_redis().aclose()
    get_redis.cache_clear()
