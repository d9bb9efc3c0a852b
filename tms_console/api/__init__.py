"""create_api(): the FastAPI app Reflex mounts its own routes into (`rx.App(api_transformer=...)`)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from tms_console.api import callback, health, inbound, session, v1
from tms_console.api.deps import service_error_handler
from tms_console.api.headers import SecurityHeaders
from tms_console.domain.errors import ServiceError
from tms_console.logs import configure_logging
from tms_console.providers.config import resolve, sandbox_credentials
from tms_console.providers.registry import PROVIDERS
from tms_console.settings import get_settings


def create_api() -> FastAPI:
    settings = get_settings()
    configure_logging()
    api = FastAPI(
        title="TMS Integrations Console API",
        version="1.0.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    api.add_exception_handler(ServiceError, service_error_handler)
    for module in (v1, callback, inbound, session, health):
        api.include_router(module.router)
    if settings.tms_sandbox and settings.redis_url:
        api.include_router(_sandbox_router())
    api.add_middleware(SecurityHeaders)
    return api


def _sandbox_router() -> APIRouter:
    """The built-in sandbox providers, registered with the same credentials the console resolves."""
    from sandbox import SandboxApp, create_sandbox_router

    settings = get_settings()
    apps = {}
    for spec in PROVIDERS.values():
        provider = resolve(spec)
        if provider.sandbox:
            client_id, secret = sandbox_credentials(spec.key)
            apps[spec.key] = SandboxApp(client_id, secret, provider.redirect_uri)
    return create_sandbox_router(
        redis_url=settings.redis_url or "", apps=apps, canary=settings.sandbox_canary
    )
