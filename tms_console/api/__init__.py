"""create_api(): the FastAPI app Reflex mounts its own routes into (`rx.App(api_transformer=...)`)."""

from __future__ import annotations

from fastapi import FastAPI

from tms_console.api import (
    audit,
    callback,
    deliveries,
    events,
    health,
    hooks,
    inbound,
    metrics,
    notifications,
    session,
    subscriptions,
    v1,
)
from tms_console.api.deps import service_error_handler
from tms_console.api.headers import SecurityHeaders
from tms_console.api.request_id import RequestId
from tms_console.domain.errors import ServiceError
from tms_console.logs import configure_logging
from tms_console.settings import load_settings


def create_api() -> FastAPI:
    """The console's HTTP surface. A configuration production refuses ends the process here."""
    settings = load_settings()
    configure_logging()
    api = FastAPI(
        title="TMS Integrations Console API",
        version="1.0.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    api.add_exception_handler(ServiceError, service_error_handler)
    for module in (
        callback,  # first: routes are matched in order, and the callback is the busiest public route
        v1,
        subscriptions,
        deliveries,
        hooks,
        audit,
        notifications,
        events,
        inbound,
        session,
        health,
        metrics,
    ):
        api.include_router(module.router)
    if settings.demo_login:  # never in production: Settings refuses DEMO_LOGIN=1 there
        api.include_router(session.demo_router)
    api.add_middleware(RequestId)  # inside SecurityHeaders: its error page gets the headers too
    api.add_middleware(SecurityHeaders)
    return api
