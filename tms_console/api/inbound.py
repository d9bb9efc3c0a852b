"""The public URL providers call into (Telegram updates, ...), one random endpoint per install."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from tms_console.services import connect

router = APIRouter(tags=["inbound"])
MAX_BODY = 256 * 1024
NOT_FOUND = JSONResponse({"detail": "not found"}, status_code=404)


@router.post(
    "/api/public/integrations/{integration_type}/inbound/{endpoint_id}",
    status_code=200,
    responses={404: {"description": "Unknown endpoint, or the request is not authenticated"}},
)
async def inbound(
    request: Request,
    integration_type: Annotated[str, Path(max_length=50, pattern=r"^[a-z0-9_]+$")],
    endpoint_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
) -> Response:
    """Authenticated by the provider's own mechanism (e.g. Telegram's secret-token header, checked in
    constant time). Anything unknown or unauthenticated gets the same 404, so endpoints can't be probed."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return JSONResponse({"detail": "too large"}, status_code=413)
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return NOT_FOUND
    headers = {name.lower(): value for name, value in request.headers.items()}
    if not await connect.inbound(integration_type, endpoint_id, headers, payload):
        return NOT_FOUND
    return JSONResponse({"ok": True})
