"""The public URLs providers call: the app's events URL (Slack Events API, Discord webhook events, Meta
webhooks) and one random URL per install (Telegram updates).

Bodies are capped before anything reads them; authentication is the provider's own (a signature over the
raw body, or a secret header), checked in services/inbound.py through the provider's hooks, and every
answer is the one the provider documents.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from tms_console.api.body_limit import body_limited_route
from tms_console.api.deps import client_ip
from tms_console.domain.inbound import Reply
from tms_console.services import inbound as inbound_service

MAX_BODY = 256 * 1024
router = APIRouter(tags=["inbound"], route_class=body_limited_route(MAX_BODY))
IntegrationType = Annotated[str, Path(max_length=50, pattern=r"^[a-z0-9_]+$")]
TEXT = {"text/plain": {"schema": {"type": "string"}}}
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Taken (a repeat is taken too, and changes nothing)",
        "content": TEXT | {"application/json": {"schema": {"type": "object"}}},
    },
    204: {"description": "Taken (Discord)"},
    401: {"description": "Unsigned, badly signed, stale or malformed (Slack, Discord, WhatsApp)"},
    404: {"description": "This provider sends no events here, or (install URLs) unknown or unauthenticated"},
    413: {"description": "Body over 256 KiB"},
    503: {"description": "Redis or Postgres down: nothing was done, the provider retries"},
}
HANDSHAKE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The challenge, echoed", "content": TEXT},
    403: {"description": "Not our verify token"},
    404: {"description": "This provider makes no such check"},
}


def _response(reply: Reply) -> Response:
    return Response(reply.body or None, status_code=reply.status, media_type=reply.media_type)


def _caller(request: Request) -> inbound_service.Caller:
    return inbound_service.Caller(client_ip(request), request.headers.get("user-agent", "")[:200] or None)


def _headers(request: Request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


@router.post("/api/public/integrations/{integration_type}/events", response_class=Response, responses=ANSWERS)
async def app_event(request: Request, integration_type: IntegrationType) -> Response:
    """An event from the provider about our app's installs (uninstalled, tokens revoked, deauthorized)."""
    body = await request.body()
    return _response(
        await inbound_service.app_event(integration_type, _headers(request), body, _caller(request))
    )


@router.get(
    "/api/public/integrations/{integration_type}/events", response_class=Response, responses=HANDSHAKE
)
async def handshake(request: Request, integration_type: IntegrationType) -> Response:
    """The provider checking the events URL (Meta's `hub.mode=subscribe&hub.verify_token&hub.challenge`)."""
    query = dict(request.query_params.items())
    if len(request.query_params.multi_items()) != len(query):
        return _response(Reply(403, '{"error": "forbidden"}'))
    return _response(inbound_service.handshake(integration_type, query))


@router.post(
    "/api/public/integrations/{integration_type}/inbound/{endpoint_id}",
    response_class=Response,
    responses=ANSWERS,
)
async def install_event(
    request: Request,
    integration_type: IntegrationType,
    endpoint_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
) -> Response:
    """A call to one install's URL (e.g. Telegram's secret-token header). Anything unknown or
    unauthenticated gets the same 404, so these URLs cannot be probed."""
    body = await request.body()
    reply = await inbound_service.install_event(
        integration_type, endpoint_id, _headers(request), body, _caller(request)
    )
    return _response(reply)
