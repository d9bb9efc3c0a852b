"""The worker's own `GET /metrics` (WORKER_METRICS_PORT), served by a tiny HTTP/1.1 handler.

The worker is another process with counters of its own (deliveries, refresh failures, status changes),
so it answers scrapes itself. prometheus_client's `start_http_server` cannot check a token, so this
handler does: with METRICS_TOKEN set it wants `Authorization: Bearer <token>` (401 otherwise); without
one it serves anyone who reaches the address, which is loopback unless WORKER_METRICS_HOST says
otherwise (production refuses a non-loopback address without a token).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from tms_console.security.metrics_token import MetricsAccess, metrics_access
from tms_console.services import metrics

MAX_HEAD = 16 * 1024
READ_SECONDS = 10
logger = logging.getLogger("tms_console.worker")


async def serve(host: str, port: int) -> asyncio.Server:
    """Start answering on host:port (in the running loop); close the returned server to stop."""
    server = await asyncio.start_server(_answer, host, port, limit=MAX_HEAD)
    logger.info("worker_metrics_serving host=%s port=%d", host, port)
    return server


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_SECONDS)
        try:
            status, body, content_type = await _respond(head.decode("latin-1"))
        except Exception:
            logger.exception("worker_metrics_failed")
            status, body, content_type = "500 Internal Server Error", b"error\n", "text/plain"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n".encode()
            + (b"WWW-Authenticate: Bearer\r\n" if status.startswith("401") else b"")
            + b"\r\n"
            + body
        )
        await writer.drain()
    except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass  # a client that sent no complete request, or left: nothing to answer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _respond(head: str) -> tuple[str, bytes, str]:
    """Status line, body and content type for one request head."""
    request_line, *lines = head.split("\r\n")
    method, _, rest = request_line.partition(" ")
    path = rest.partition(" ")[0].partition("?")[0]
    if method != "GET" or path != "/metrics":
        return "404 Not Found", b"not found\n", "text/plain"
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if metrics_access(headers.get("authorization")) is MetricsAccess.DENIED:
        return "401 Unauthorized", b"not authenticated\n", "text/plain"
    return "200 OK", await metrics.render(), metrics.CONTENT_TYPE
