"""Liveness of what the console depends on."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tms_console.services import health

router = APIRouter(tags=["health"])


@router.get("/api/health", responses={503: {"description": "A dependency is down"}})
async def get_health() -> JSONResponse:
    """`{"database": "ok", "redis": "ok"}`, or 503 naming what is down."""
    report = await health.check()
    healthy = all(value == "ok" for value in report.values())
    return JSONResponse(report, status_code=200 if healthy else 503)
