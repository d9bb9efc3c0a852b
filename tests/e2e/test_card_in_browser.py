"""The card controls in a real Chromium: Slack installed through its consent page, "Simulate ticket event"
(dev and test only) accepts an event that a worker then delivers into the sandbox's Slack channel page and
the card's Activity panel lists as delivered; the card's event editor changes what the integration
receives; "Send test" posts to the chosen channel. (A failing delivery's reason and Resend: test_activity.)"""

from __future__ import annotations

import psycopg
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console import approve, sign_in
from tests.e2e.test_providers import open_project, uninstall
from tests.utils.artifacts import ARTIFACTS
from tests.utils.deliveries import SETTLED, running_worker, wait_for
from tests.utils.identities import project_id
from tests.utils.live import sandbox_env

pytestmark = pytest.mark.e2e

PROJECT = "Billing Desk"


def slack_channel(db: psycopg.Connection) -> str:
    (meta,) = db.execute(
        "SELECT meta FROM project_integrations WHERE project_id = %s AND integration_type = 'slack'",
        (project_id("Acme", PROJECT),),
    ).fetchone()
    return str(meta["channel_id"])


def simulate(page: Page, label: str, answer: str) -> None:
    page.locator("#simulate-type").click()
    page.get_by_role("option", name=label).click()
    page.locator("#simulate-event").click()
    expect(page.locator("#simulate-result")).to_have_text(answer)


def test_a_simulated_event_reaches_the_sandbox_channel_and_the_editor_filters_events(
    page: Page, console: dict[str, str], database_url: str
) -> None:
    sign_in(page, "alice")
    open_project(page, PROJECT)
    expect(page.locator("#simulate-event")).to_be_visible()
    approve(page, "slack")
    expect(page.locator("#status-slack")).to_have_text("Connected")
    expect(page.locator("#events-slack")).to_have_text("All ticket events")

    simulate(page, "New comment", "Event accepted: 1 delivery queued.")
    page.screenshot(path=str(ARTIFACTS / "card-controls.png"), full_page=True)
    with psycopg.connect(
        database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as db:
        channel = slack_channel(db)
        worker_env = sandbox_env(console["sandbox"], console["canary"])
        with running_worker(ARTIFACTS / "e2e-simulate-worker.log", **worker_env):
            [(delivery_id, status, reason)] = wait_for(
                db,
                "SELECT d.id, d.status, d.last_reason FROM deliveries d "
                "JOIN ticket_events e ON e.id = d.ticket_event_id WHERE d.project_id = %s "
                "AND d.integration_type = 'slack' AND e.type = 'ticket.commented'",
                (project_id("Acme", PROJECT),),
                lambda rows: len(rows) == 1 and rows[0][1] in SETTLED,
            )
        assert status == "delivered", reason
    sandbox = page.context.new_page()
    sandbox.goto(f"{console['sandbox']}/sandbox/slack/channels/{channel}")
    expect(sandbox.locator("body")).to_contain_text("[Simulated] Invoice PDF")
    sandbox.close()
    # ... and the card's Activity panel lists it as delivered.
    page.locator("#activity-slack").click()
    row = page.locator(f"#delivery-{delivery_id}")
    expect(row).to_have_attribute("data-status", "delivered")
    expect(row).to_contain_text("New comment")
    page.locator("#activity-close").click()

    # The card's editor: no more comments for Slack, so a simulated comment goes nowhere.
    page.locator("#edit-events-slack").click()
    expect(page.locator("#event-ticket-commented")).to_be_checked()
    page.screenshot(path=str(ARTIFACTS / "card-event-editor.png"))
    page.locator("#event-ticket-commented").click()
    expect(page.locator("#event-ticket-commented")).not_to_be_checked()
    page.locator("#events-save").click()
    expect(page.locator("#flash")).to_contain_text("Saved: Slack receives the ticket events picked")
    expect(page.locator("#events-slack")).to_have_text(
        "New ticket, Ticket assigned, Status changed, Priority changed, Ticket resolved"
    )
    simulate(page, "New comment", "Event accepted: 0 deliveries queued.")
    simulate(page, "Ticket resolved", "Event accepted: 1 delivery queued.")

    # Unticking everything is refused with the reason, and nothing changes.
    page.locator("#edit-events-slack").click()
    for slug in ("created", "assigned", "status-changed", "priority-changed", "resolved"):
        page.locator(f"#event-ticket-{slug}").click()
    expect(page.locator("#event-choices [role='checkbox'][data-state='checked']")).to_have_count(0)
    page.locator("#events-save").click()
    expect(page.locator("#events-error")).to_contain_text("pick at least one event type")
    page.locator("#events-cancel").click()
    expect(page.locator("#events-slack")).to_contain_text("Ticket resolved")

    page.locator("#test-slack").click()
    expect(page.locator("#flash")).to_contain_text("Slack: test message sent. Delivered: Slack accepted it")
    uninstall(page, "slack")
