"""Serve the console's API, and the sandbox providers on their own origin, over real HTTP from
background threads."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.utils.artifacts import ResponseTee


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def configure_env(port: int) -> None:
    from tms_console.settings import clear_settings_cache

    os.environ["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    clear_settings_cache()


def sandbox_env(sandbox_url: str, canary: str) -> dict[str, str]:
    """The console's settings that make the sandbox at `sandbox_url` play every provider."""
    import sandbox

    env = {"TMS_SANDBOX": "1", "SANDBOX_BASE_URL": sandbox_url}
    for values in sandbox.provider_env(sandbox_url, canary).values():
        env |= values
    return env


def use_sandbox(sandbox_url: str, canary: str) -> None:
    """Point this process's console settings at the sandbox (every provider)."""
    from tms_console.settings import clear_settings_cache

    os.environ.update(sandbox_env(sandbox_url, canary))
    clear_settings_cache()


@contextmanager
def serve_sandbox(sandbox_url: str, *, console_url: str, canary: str) -> Iterator[str]:
    """The sandbox app on `sandbox_url`'s port, registered for the console at `console_url`."""
    import sandbox

    app = sandbox.create_app(redis_url=os.environ["REDIS_URL"], console_url=console_url, canary=canary)
    port = int(sandbox_url.rsplit(":", 1)[1])
    with serve_app(app, port) as url:
        yield url


def seed_demo() -> None:
    """Run the demo seed on its own event loop (the app's engine is per loop)."""

    async def _run() -> None:
        from devtools.seed import seed
        from tms_console.persistence.db import dispose_engine, session_scope

        async with session_scope() as session:
            await seed(session)
        await dispose_engine()

    run_in_thread(lambda: asyncio.run(_run()))


def run_in_thread(target: Callable[[], object]) -> None:
    """Run `target` in a thread of its own and raise what it raised here, in the caller's test."""
    failures: list[BaseException] = []

    def guarded() -> None:
        try:
            target()
        except BaseException as exc:  # handed to the caller, so nothing dies silently in the thread
            failures.append(exc)

    thread = threading.Thread(target=guarded)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


@contextmanager
def serve_api(port: int) -> Iterator[str]:
    """The console's API, with every response body kept for the leak sweep."""
    from tms_console.api import create_api

    with serve_app(ResponseTee(create_api()), port) as url:
        yield url


@contextmanager
def serve_app(app: Any, port: int) -> Iterator[str]:
    """Any ASGI app on 127.0.0.1:`port` from a background thread, for as long as the block runs."""
    # proxy_headers off: the app itself decides which X-Forwarded-For entries to trust.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def sandbox_origin() -> str:
    """Where the sandbox of `live_url`'s console is served (tests/conftest.py picks it at start)."""
    return os.environ["SANDBOX_BASE_URL"]


def production_env(**overrides: str) -> dict[str, str]:
    """This process's environment as production would have it: no TMS_ENV (production is the default),
    none of the dev and test conveniences (stand-in providers, demo login) and no provider settings
    pointing at the sandbox; then `overrides`."""
    import sandbox

    dev_only = {"TMS_ENV", "TMS_SANDBOX", "SANDBOX_BASE_URL", "SANDBOX_CANARY", "DEMO_LOGIN"}
    for values in sandbox.provider_env("http://unused", "unused").values():
        dev_only |= set(values)
    return {k: v for k, v in os.environ.items() if k not in dev_only} | overrides
