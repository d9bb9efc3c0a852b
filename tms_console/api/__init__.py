"""create_api(): the FastAPI app Reflex mounts its own routes into (`rx.App(api_transformer=...)`)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tms_console.api import callback, health, session, v1
from tms_console.api.deps import service_error_handler
from tms_console.providers.config import resolve, sandbox_credentials
from tms_console.providers.registry import PROVIDERS
from tms_console.services.errors import ServiceError
from tms_console.settings import get_settings

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
]


class SecurityHeaders:
    """Adds the headers every response needs; keeps any Referrer-Policy a route set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                if b"referrer-policy" not in names:
                    headers.append((b"referrer-policy", b"same-origin"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def configure_logging() -> None:
    """httpx logs full request URLs at INFO, and webhook URLs are secrets: keep it quiet."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("tms_console").setLevel(logging.INFO)


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
    for module in (v1, callback, session, health):
        api.include_router(module.router)
    if settings.tms_sandbox and settings.redis_url:
        api.include_router(_sandbox_router())
    api.add_middleware(SecurityHeaders)
    return api


def _sandbox_router() -> APIRouter:
    """The built-in sandbox providers, registered with the same credentials the console resolves."""
    from tms_console.sandbox import SandboxApp, create_sandbox_router

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
