"""A FAST fake provider for the delivery benchmark: a bare ASGI app that answers every POST at once.

The sandbox checks every request as its platform would, which costs more than the delivery being
measured; this one only answers, with a body that satisfies each caller:
- Slack `chat.postMessage`: `{"ok": true, "channel", "ts"}`;
- Discord execute webhook `?wait=true` (and the thread started on a ticket's first message): a message
  object with an `id`;
- a webhook receiver: 200 with a small JSON body.
It counts the requests it answered (`GET /_count`), so the benchmark can check nothing was lost.
Served by `uvicorn --factory benchmarks.fast_provider:create_app` like every other bench server.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
HEADERS = [(b"content-type", b"application/json")]


def create_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The ASGI app (a fresh counter per process)."""
    serial = itertools.count(1)
    answered = 0

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal answered
        if scope["type"] != "http":
            return
        more = True
        while more:  # drain the body
            message = await receive()
            more = message.get("more_body", False)
        if scope["method"] == "GET":
            body = json.dumps({"answered": answered}).encode()
        else:
            answered += 1
            number = next(serial)
            body = json.dumps(
                {
                    "ok": True,
                    "channel": "C0BENCH001",
                    "ts": f"1700000000.{number:06d}",
                    "id": str(1_200_000_000_000_000_000 + number),
                    "channel_id": "1100000000000000001",
                }
            ).encode()
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": body})

    return app
