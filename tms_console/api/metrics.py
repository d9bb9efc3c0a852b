"""`GET /metrics` in Prometheus's text format, for the holder of METRICS_TOKEN (404 while it is unset)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from tms_console.security.metrics_token import MetricsAccess, metrics_access
from tms_console.services import metrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def get_metrics(request: Request) -> Response:
    """Installs, callback latency, deliveries, the job queue, status changes and refresh failures."""
    access = metrics_access(request.headers.get("authorization"))
    if access is MetricsAccess.OFF:
        return JSONResponse({"detail": "Not Found"}, status_code=404)  # as if there were no such route
    if access is MetricsAccess.DENIED:
        return JSONResponse(
            {"detail": "not authenticated"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    return Response(
        await metrics.render(), media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )
