"""The real console (`reflex run --env prod`, two workers) and a real Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from playwright.sync_api import Browser, Page

from tests.utils import artifacts
from tests.utils.browser import record_frames
from tests.utils.console import forget_integrations
from tests.utils.identities import project_id


@pytest.fixture(scope="package", autouse=True)
def nothing_installed(console: dict[str, str], database_url: str) -> None:
    """The browser tests start from "nothing installed", whatever ran before them."""
    forget_integrations(database_url)


@pytest.fixture
def page(browser: Browser, console: dict[str, str]) -> Iterator[Page]:
    context = browser.new_context(base_url=console["url"], viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    frames = record_frames(page)
    page.frames_seen = frames  # type: ignore[attr-defined]
    # The console runs under a CSP without 'unsafe-inline' scripts: any violation fails the test.
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield page
    context.close()
    artifacts.record("ws-frames", "\n".join(frames))
    assert not blocked, f"the browser blocked something under the CSP: {blocked}"


@pytest.fixture
def onboarding(db: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """A connection for a test that installs on Acme's "Onboarding"; its integrations are removed after."""
    yield db
    project = project_id("Acme", "Onboarding")
    db.execute("DELETE FROM delivery_health WHERE project_id = %s", (project,))
    db.execute("DELETE FROM project_integrations WHERE project_id = %s", (project,))
