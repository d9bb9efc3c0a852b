"""Two backend-only consoles (two workers each) behind one frontend build and a switching proxy.

Runs after tests/e2e (Playwright's sync API must not overlap pytest-asyncio's loop) and before
tests/leaks: the backends' logs land in test-artifacts/ and the websocket frames in the captures,
and the leak sweep reads both.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.utils import artifacts
from tests.utils.backends import ScaleOut, scale_out
from tests.utils.browser import record_frames
from tests.utils.console import forget_integrations

# Starts with "CANARY" like every sandbox canary of the suite, so the leak sweep looks for it too.
SCALE_CANARY = "CANARYS" + secrets.token_hex(5)


@pytest.fixture(scope="package")
def scale(database_url: str, redis_url: str) -> Iterator[ScaleOut]:
    forget_integrations(database_url)
    with scale_out(database_url, redis_url, SCALE_CANARY) as running:
        yield running


@pytest.fixture
def page(browser: Browser, scale: ScaleOut) -> Iterator[Page]:
    context = browser.new_context(base_url=scale.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    frames = record_frames(page)
    yield page
    context.close()
    artifacts.record("ws-frames", "\n".join(frames))
