"""What the leak sweep sweeps, installed right before it runs (never left over from earlier tests).

Two installs, each leaving sealed canary secrets in the database:
- through the in-process API (`live_url`): the callback, httpx and SQL log lines of the application log,
  an API response listing the integration, and `GET /metrics`;
- through the real console (`console`) in Chromium: the websocket frames that render the installed card,
  with the built frontend the console serves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from devtools.seed import demo_id
from tests.integration.test_install_flow import browser as api_browser
from tests.integration.test_install_flow import install
from tests.utils import artifacts
from tests.utils.browser import record_frames
from tests.utils.identities import project_id, token_for

ACME = "Acme"


@dataclass(frozen=True)
class Planted:
    """Shown values of the two installs, which the scans expect to find (proof they read real data)."""

    api_guild: str
    console_guild: str


def guild_name(db: psycopg.Connection, project: object) -> str:
    found = db.execute(
        "SELECT meta->>'guild_name' FROM project_integrations "
        "WHERE project_id = %s AND integration_type = 'discord'",
        (project,),
    ).fetchone()
    assert found and found[0], f"no Discord install on {project}"
    return str(found[0])


def install_through_the_api(live_url: str, db: psycopg.Connection) -> str:
    project = project_id(ACME, "Onboarding")
    with api_browser(live_url) as client:
        done = install(client, "discord", project)
        assert "status=success" in done.headers["location"], done.headers["location"]
        listed = client.get(
            f"/v1/tenants/{demo_id(ACME)}/projects/{project}/integrations",
            headers={"Authorization": f"Bearer {token_for()}"},
        )
        assert listed.status_code == 200, listed.text
        # The metrics as a scraper reads them (METRICS_TOKEN is set for the suite), after the install.
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {os.environ['METRICS_TOKEN']}"})
        assert scraped.status_code == 200, scraped.text
    return guild_name(db, project)


def install_in_the_browser(page: Page, console: dict[str, str]) -> None:
    """Alice signs in with the demo login and installs Discord on her first project."""
    page.goto("/login")
    page.locator("#login-alice").click()
    page.wait_for_url("**/projects/*/integrations**")
    page.locator("#install-discord").click()
    page.wait_for_url(console["sandbox"] + "/sandbox/discord/**")
    page.locator("#approve").click()
    page.wait_for_url("**/projects/*/integrations?status=success**")
    expect(page.locator("#status-discord")).to_have_text("Connected")


def install_through_the_console(browser: Browser, console: dict[str, str], db: psycopg.Connection) -> str:
    context = browser.new_context(base_url=console["url"])
    context.set_default_timeout(20_000)
    page = context.new_page()
    frames = record_frames(page)
    try:
        install_in_the_browser(page, console)
        project = page.url.split("/projects/")[1].split("/")[0]
    finally:
        context.close()
        artifacts.record("ws-frames", "\n".join(frames))
    return guild_name(db, project)


@pytest.fixture(scope="package")
def planted(live_url: str, console: dict[str, str], browser: Browser, database_url: str) -> Planted:
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as db:
        # Whatever earlier tests left, Alice's Discord card offers Install again.
        db.execute(
            "DELETE FROM project_integrations WHERE tenant_id = %s AND integration_type = 'discord'",
            (demo_id(ACME),),
        )
        console_guild = install_through_the_console(browser, console, db)
        api_guild = install_through_the_api(live_url, db)
    return Planted(api_guild=api_guild, console_guild=console_guild)


@pytest.fixture(scope="package", autouse=True)
def fresh_data_to_sweep(planted: Planted) -> None:
    """Every scan in this folder runs after the installs above."""
