"""Every HTTP request gets an id: the caller's `X-Request-ID` when it is a sane one, else a fresh one.

The id is in every log line written while the request runs (`context`), in the `X-Request-ID`
header of every response (the API, the callback, the console's pages), and on error pages as
"Reference: <id>", so a user's report leads to the log lines of their request.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tms_console.logs import context, request_id

HEADER = b"x-request-id"
logger = logging.getLogger("tms_console.api")


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == HEADER:
            return value.decode("latin-1")
    return None


class RequestId:
    """Pure ASGI middleware (outermost): sets the id for the request's logs and answers it in a header.

    An error that reaches it before any response started is logged with the id and answered as a plain
    500 page that shows the id (the server's own page would not).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(_incoming(scope))
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message["headers"] = [*headers, (HEADER, rid.encode())]
            await send(message)

        with context(request_id=rid):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                logger.exception("unhandled_error method=%s", scope.get("method", "-"))
                if started:
                    raise
                await _server_error(send, rid)


async def _server_error(send: Send, rid: str) -> None:
    body = (
        "<!doctype html><meta charset='utf-8'><title>Something went wrong</title>"
        "<body style='font-family:system-ui;max-width:40rem;margin:4rem auto'>"
        "<h1>Something went wrong</h1><p>The console had an unexpected error. Try again in a moment.</p>"
        f"<p id='reference'>Reference: <code>{rid}</code></p></body>"
    ).encode()
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (HEADER, rid.encode()),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
