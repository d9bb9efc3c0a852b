"""The audit trail in a real Chromium: a card's Audit panel shows what happened to the integration in plain
words (and outlives an uninstall); an admin's /admin/audit filters the tenant's trail and exports a CSV."""

from __future__ import annotations

import csv
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_activity import connect_webhook
from tests.e2e.test_console import sign_in
from tests.e2e.test_providers import open_project, uninstall
from tests.utils.identities import identity

pytestmark = pytest.mark.e2e


def newest_entry(page: Page, action: str) -> None:
    entry = page.locator("#audit-panel .audit-entry").first
    expect(entry).to_have_attribute("data-action", action)


def test_the_audit_panel_and_the_admin_audit_page_with_its_csv(page: Page, console: dict[str, str]) -> None:
    endpoint = "audit-e2e-" + uuid.uuid4().hex[:8]
    sign_in(page, "alice")
    open_project(page, "Onboarding")
    connect_webhook(page, f"{console['sandbox']}/sandbox/webhook/receive/{endpoint}")
    page.locator("#audit-webhook").click()
    newest_entry(page, "installed")
    entry = page.locator("#audit-panel .audit-entry").first
    expect(entry).to_contain_text("Webhook is connected.")
    expect(entry).to_contain_text("by Alice")
    expect(entry).to_contain_text("UTC")
    page.locator("#audit-close").click()
    uninstall(page, "webhook")
    page.locator("#audit-webhook").click()  # the trail outlives the integration
    newest_entry(page, "uninstalled")
    expect(page.locator("#audit-panel .audit-entry").nth(1)).to_have_attribute("data-action", "installed")
    page.locator("#audit-close").click()

    sign_in(page, "ada")
    page.locator("#admin-link").click()
    page.wait_for_url("**/admin")
    page.locator("#audit-log-link").click()
    page.wait_for_url("**/admin/audit")
    expect(page.locator("#audit-list")).to_be_visible()
    page.locator("#audit-filter-action").click()
    page.get_by_role("option", name="Uninstalled").click()
    rows = page.locator("#audit-list .audit-entry")
    expect(rows.first).to_have_attribute("data-action", "uninstalled")
    expect(rows.first).to_contain_text("Onboarding · Webhook")
    export = f"/v1/tenants/{identity().tenant_id}/audit.csv?action=uninstalled"
    expect(page.locator("#audit-export")).to_have_attribute("data-url", export)
    with page.expect_download() as download:
        page.locator("#audit-export").click()
    assert download.value.suggested_filename.startswith("audit-")
    with open(download.value.path(), encoding="utf-8", newline="") as exported:
        table = list(csv.DictReader(exported))
    assert table and {row["action"] for row in table} == {"uninstalled"}
    ours = [row for row in table if row["integration"] == "webhook" and row["project"] == "Onboarding"]
    assert ours and ours[0]["actor_name"].startswith("Alice") and ours[0]["time_utc"].endswith("Z")
