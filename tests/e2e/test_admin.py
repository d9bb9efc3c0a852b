"""/admin in a real browser: admins see every project against every provider; agents are refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console import sign_in
from tests.utils.artifacts import ARTIFACTS

pytestmark = pytest.mark.e2e


def test_admin_sees_the_grid_filters_and_opens_a_project(page: Page) -> None:
    sign_in(page, "ada")
    page.locator("#admin-link").click()
    page.wait_for_url("**/admin")
    expect(page.locator("#overview-grid")).to_be_visible()
    rows = page.locator(".overview-row")
    expect(rows).to_have_count(3)  # Acme's three projects, never Globex's
    expect(page.locator("#overview-grid")).not_to_contain_text("Helpdesk")
    expect(page.locator("#total-not_connected")).not_to_have_text("0")
    bar = page.locator(".recharts-bar-rectangle path").first  # the chart drew its bars, in its colours
    expect(bar).to_be_visible()
    assert bar.get_attribute("fill") in ("#30a46c", "#ffc53d", "#c1c8cd")  # SVG fill: no CSS variables
    page.screenshot(path=str(ARTIFACTS / "admin-overview.png"), full_page=True)
    page.locator("#overview-search").fill("Billing")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Billing Desk")
    rows.first.locator("td").first.click()
    page.wait_for_url("**/projects/*/integrations")
    expect(page.locator("#project-name")).to_have_text("Billing Desk")


def test_agents_are_told_the_overview_is_for_admins(page: Page) -> None:
    sign_in(page, "alice")
    expect(page.locator("#admin-link")).to_have_count(0)
    page.goto("/admin")
    expect(page.locator("#admin-denied")).to_contain_text("administrators")
    expect(page.locator("#overview-grid")).to_have_count(0)
