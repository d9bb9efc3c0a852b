"""A real Chromium through login, install of Discord and Slack, cancel, uninstall and tenant switch."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import psycopg
import pytest
from playwright.sync_api import Page, expect

from tests.utils.console import ARTIFACTS
from tests.utils.identities import project_id

pytestmark = pytest.mark.e2e


def sign_in(page: Page, who: str) -> None:
    page.goto("/login")
    page.locator(f"#login-{who}").click()
    page.wait_for_url("**/projects/*/integrations**")
    expect(page.locator("#cards")).to_be_visible()


def approve(page: Page, kind: str) -> None:
    page.locator(f"#install-{kind}").click()
    page.wait_for_url(f"**/sandbox/{kind}/**")
    expect(page.locator("#approve")).to_be_visible()
    page.locator("#approve").click()
    page.wait_for_url("**/projects/*/integrations?status=success**")


def test_install_cancel_uninstall_through_the_browser(
    page: Page, console: dict[str, str], database_url: str
) -> None:
    sign_in(page, "alice")
    expect(page.locator("#project-name")).to_have_text("Billing Desk")
    expect(page.locator("#status-discord")).to_have_text("Not connected")
    expect(page.locator("#status-slack")).to_have_text("Not connected")
    expect(page.locator("#status-msteams")).to_have_text("Not connected")
    page.screenshot(path=str(ARTIFACTS / "integrations-before-install.png"), full_page=True)

    approve(page, "discord")
    expect(page.locator("#flash")).to_contain_text("Discord is connected")
    expect(page.locator("#status-discord")).to_have_text("Connected")
    expect(page.locator("#account-discord")).not_to_be_empty()
    expect(page.locator("#channel-discord")).to_have_text(re.compile(r"^#[a-z-]+$"))
    expect(page.locator("#installed-by-discord")).to_have_text("Alice Agent")
    expect(page.locator("#installed-at-discord")).to_contain_text("UTC")

    page.locator("#install-slack").click()
    page.wait_for_url("**/sandbox/slack/**")
    page.locator("#channel").select_option(label="#tickets")
    page.locator("#approve").click()
    page.wait_for_url("**/projects/*/integrations?status=success**")
    expect(page.locator("#status-slack")).to_have_text("Connected")
    expect(page.locator("#account-slack")).to_contain_text("Acme Support")
    expect(page.locator("#channel-slack")).to_have_text("#tickets")
    page.screenshot(path=str(ARTIFACTS / "integrations-after-install.png"), full_page=True)

    page.locator("#uninstall-discord").click()
    expect(page.locator("#uninstall-confirm")).to_be_visible()
    page.locator("#uninstall-confirm").click()
    expect(page.locator("#status-discord")).to_have_text("Not connected")
    expect(page.locator("#flash")).to_contain_text("Discord was disconnected")
    expect(page.locator("#status-slack")).to_have_text("Connected")

    page.locator("#install-discord").click()
    page.wait_for_url("**/sandbox/discord/**")
    page.locator("#cancel").click()
    page.wait_for_url("**/projects/*/integrations?status=error**")
    expect(page.locator("#flash")).to_contain_text("Installation cancelled")
    # The callback's request id, so what the agent reports leads to its log lines.
    ref = page.url.split("ref=")[1].split("&")[0]
    expect(page.locator("#flash-reference")).to_have_text(f"Reference: {ref}")
    expect(page.locator("#status-discord")).to_have_text("Not connected")

    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        actions = [
            a
            for (a,) in conn.execute(
                "SELECT action FROM integration_events WHERE integration_type = 'discord' ORDER BY created_at"
            )
        ]
    assert actions[-3:] == ["installed", "uninstalled", "install_failed"]

    frames = "\n".join(page.frames_seen)  # type: ignore[attr-defined]
    assert frames, "no websocket frames were captured"
    assert console["canary"] not in frames
    assert console["canary"] not in page.content()
    assert console["canary"] not in Path(console["log"]).read_text()


def test_tenants_see_only_their_own_projects(page: Page) -> None:
    sign_in(page, "gary")
    expect(page.locator("#current-user")).to_have_text("Gary Agent")
    page.locator("#project-switcher").click()
    options = page.get_by_role("option")
    expect(options).to_have_count(3)
    names = sorted(options.all_inner_texts())
    assert names == ["Field Service", "Helpdesk", "VIP Care"]
    page.get_by_role("option", name="VIP Care").click()
    page.wait_for_url("**/projects/*/integrations")
    expect(page.locator("#project-name")).to_have_text("VIP Care")
    expect(page.locator("#status-slack")).to_have_text("Not connected")

    page.goto(f"/projects/{project_id('Acme', 'Billing Desk')}/integrations")
    expect(page.locator("#load-error")).to_contain_text("not part of your organisation")
    expect(page.locator("#cards")).to_have_count(0)


def test_signed_out_visitors_go_to_login(page: Page) -> None:
    page.goto("/")
    page.wait_for_url("**/login**")
    expect(page.locator("#login-alice")).to_be_visible()


def test_provider_controlled_names_render_as_plain_text(page: Page, console: dict[str, str]) -> None:
    """SECURITY.md: provider text is shown as text, never as markup, and without bidi overrides."""
    markup = '<img src=x onerror="window.__pwned=1">'
    fault = {"mode": "hostile_name", "text": markup + "\u202eevil"}
    sandbox = f"{console['sandbox']}/sandbox/slack/_fault"
    assert httpx.put(sandbox, json=fault).status_code in (200, 204)
    try:
        sign_in(page, "greta")
        page.locator("#project-switcher").click()
        page.get_by_role("option", name="Field Service").click()
        page.wait_for_url("**/projects/*/integrations")
        approve(page, "slack")
        expect(page.locator("#status-slack")).to_have_text("Connected")
        expect(page.locator("#account-slack")).to_have_text(markup + "evil")
    finally:
        httpx.delete(sandbox)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#cards img[src='x']").count() == 0
    assert "\u202e" not in page.locator("#cards").inner_text()
