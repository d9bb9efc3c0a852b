"""A FAST fake provider for the delivery benchmark: a bare ASGI app that answers every POST at once.

The sandbox checks every request as its platform would, which costs more than the delivery being
measured; this one only answers, with a body that satisfies each caller:
- Slack `chat.postMessage`: `{"ok": true, "channel", "ts"}`;
- Discord execute webhook `?wait=true` (and the thread started on a ticket's first message): a message
  object with an `id`;
- a webhook receiver: 200 with a small JSON body.
- a health probe (Slack `auth.test`, Telegram `getMe`/`getChat` by POST; Discord's webhook, a Graph channel, a
  Chat space, a WhatsApp number by GET): the same object, which each probe reads as a working install.
It counts the requests it answered (`GET /_count`), so the benchmark can check nothing was lost, and by
provider and second (`GET /_rates`: `{provider: {unix second: requests}}`, the provider being the path's
`/sandbox/<provider>/` segment), so the health benchmark can read the peak rate each provider saw.
Served by `uvicorn --factory benchmarks.fast_provider:create_app` like every other bench server.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
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
    rates: Counter[tuple[str, int]] = Counter()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal answered
        if scope["type"] != "http":
            return
        more = True
        while more:  # drain the body
            message = await receive()
            more = message.get("more_body", False)
        path = scope["path"]
        if path == "/_count":
            body = json.dumps({"answered": answered}).encode()
        elif path == "/_rates":
            by_provider: dict[str, dict[int, int]] = {}
            for (provider, second), count in rates.items():
                by_provider.setdefault(provider, {})[second] = count
            body = json.dumps(by_provider).encode()
        else:
            answered += 1
            parts = path.split("/")
            rates[parts[2] if len(parts) > 2 and parts[1] == "sandbox" else "other", int(time.time())] += 1
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
