"""Where the sandbox providers are served, in one place for the tests that visit them directly."""

from __future__ import annotations


def sandbox_url(app_url: str) -> str:
    """The sandbox's base URL for the console at `app_url` (today mounted under the console's origin)."""
    return app_url.rstrip("/") + "/sandbox"
