"""Reflex configuration. Reads the environment only; imports nothing from tms_console."""

import os

import reflex as rx

_public = os.environ.get("PUBLIC_BASE_URL", "http://localhost:3000").rstrip("/")

config = rx.Config(
    app_name="tms_console",
    redis_url=os.environ.get("REDIS_URL") or None,
    show_built_with_reflex=False,
    telemetry_enabled=False,
    cors_allowed_origins=[_public],
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
