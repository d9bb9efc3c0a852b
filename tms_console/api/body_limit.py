"""Routes that refuse a request body over a size limit (413) before anything reads it as JSON."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.types import Message


def body_limited_route(limit: int) -> type[APIRoute]:
    """An APIRoute class whose handler sees the body only when it is at most `limit` bytes.

    The declared Content-Length is checked first; a body sent without one (chunked) is counted while it
    is read and refused as soon as it passes the limit, so an oversized body is never held whole.
    """

    class BodyLimitedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def limited(request: Request) -> Response:
                body = await _read_capped(request, limit)
                if body is None:
                    return JSONResponse({"detail": f"body over {limit} bytes"}, status_code=413)
                return await handler(_replaying(request, body))

            return limited

    return BodyLimitedRoute


async def _read_capped(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _replaying(request: Request, body: bytes) -> Request:
    """The same request, with its already-read body served again to the route's own parsing."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)
