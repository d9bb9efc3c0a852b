"""/admin in a real browser: admins see every project against every provider; agents are refused."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from playwright.sync_api import Page, expect

from devtools.seed import demo_id
from tests.e2e.test_console import sign_in
from tests.utils.artifacts import ARTIFACTS
from tests.utils.deliveries import add_webhook
from tests.utils.events import Place

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
    # The chart's text equivalent: its numbers per provider, which add up to the totals above.
    page.locator("#chart-numbers").click()
    numbers = page.locator("#chart-table tbody tr")
    expect(numbers).to_have_count(7)
    expect(numbers.first).to_contain_text("Discord")
    not_connected = sum(int(row.locator("td").nth(2).inner_text()) for row in numbers.all())
    assert str(not_connected) == page.locator("#total-not_connected").inner_text()
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


@pytest.fixture
def failing_webhook(database_url: str) -> Iterator[str]:
    """A webhook of Acme's "Customer Support" whose deliveries fail since 10:42 UTC today; removed after."""
    place = Place(demo_id("Acme"), demo_id("Acme", "Customer Support"))
    with psycopg.connect(
        database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as db:
        row, _ = add_webhook(db, place, "https://hooks.example.com/tms")
        db.execute(
            "INSERT INTO delivery_health (integration_id, tenant_id, project_id, integration_type, "
            "last_delivery_at, last_status, last_reason, failing, failing_since) VALUES (%s, %s, %s, "
            "'webhook', now(), 'retrying', 'server_error', true, "
            "(date_trunc('day', now() AT TIME ZONE 'UTC') + interval '10:42') AT TIME ZONE 'UTC')",
            (row, place.tenant_id, place.project_id),
        )
        yield str(place.project_id)
        db.execute("DELETE FROM project_integrations WHERE id = %s", (row,))
        db.execute("DELETE FROM delivery_health WHERE integration_id = %s", (row,))


def test_failing_deliveries_are_marked_filtered_and_shown_on_the_card(
    page: Page, failing_webhook: str
) -> None:
    sign_in(page, "ada")
    page.goto("/admin")
    expect(page.locator("#total-failing")).to_have_text("1")
    mark = page.locator(f"#failing-{failing_webhook}-webhook")
    expect(mark).to_contain_text("Deliveries failing")
    assert (mark.get_attribute("aria-label") or "").startswith("Deliveries failing since ")
    expect(page.locator(".failing-mark")).to_have_count(1)
    rows = page.locator(".overview-row")
    expect(rows).to_have_count(3)
    page.locator("#overview-failing").click()
    expect(page.locator("#overview-failing")).to_have_attribute("aria-checked", "true")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Customer Support")
    page.screenshot(path=str(ARTIFACTS / "admin-failing.png"), full_page=True)
    page.goto(f"/projects/{failing_webhook}/integrations")
    line = page.locator("#last-delivery-webhook")
    expect(line).to_contain_text(
        "Failing since 10:42 UTC (retrying): "
        "The receiving server had an error (5xx). It is tried again later."
    )
    expect(page.locator("#last-delivery-slack")).to_have_count(0)  # nothing installed, nothing shown
    line.screenshot(path=str(ARTIFACTS / "card-last-delivery.png"))
