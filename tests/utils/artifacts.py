"""What the suite keeps in test-artifacts/: logs, screenshots, and everything captured for the leak sweep
(tests/leaks/) — application logs at DEBUG, API response bodies and websocket frames."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# The leak sweep reads every file in here; one folder per test database, so parallel runs don't mix.
CAPTURED = ARTIFACTS / "captured" / os.environ.get("TMS_TEST_DATABASE", "tms_console_test")


def reset() -> None:
    """Start a run with empty captures (old runs' files would make the sweep read stale data)."""
    CAPTURED.mkdir(parents=True, exist_ok=True)
    for old in CAPTURED.iterdir():
        old.unlink()


def record(kind: str, text: str) -> None:
    CAPTURED.mkdir(parents=True, exist_ok=True)
    with (CAPTURED / f"{kind}.log").open("a", encoding="utf-8") as out:
        out.write(text + "\n")


def capture_logs() -> logging.Handler:
    """Every record the application's loggers emit (LOG_LEVEL=DEBUG in tests) goes to a file."""
    handler = logging.FileHandler(CAPTURED / "app-in-process.log", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.getLogger().addHandler(handler)
    return handler


class ResponseTee:
    """ASGI middleware copying every response body of the console's own API into the captures.

    The sandbox is another app on another origin: its token endpoints return tokens by design.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def tee(message: Message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    record("api-responses", f"{scope['path']} " + b"".join(chunks).decode("utf-8", "replace"))
            await send(message)

        await self.app(scope, receive, tee)
