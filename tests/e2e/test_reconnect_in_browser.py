"""Reconnect in a real Chromium: a Slack integration that needs a reconnect comes back Connected with its
channel and its Activity history; a reconnect to another workspace is held, asked about, and refused."""

from __future__ import annotations

import psycopg
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console import sign_in
from tests.e2e.test_providers import open_project, uninstall
from tests.utils.a11y import AxeReport
from tests.utils.deliveries import add_delivery
from tests.utils.events import Place, ticket_event
from tests.utils.identities import identity, project_id

pytestmark = pytest.mark.e2e
PROJECT = "Customer Support"


def consent(page: Page, workspace: str = "") -> None:
    """Press the card's Install/Reconnect button and approve at the sandbox, posting to #tickets."""
    page.locator("#install-slack").click()
    page.wait_for_url("**/sandbox/slack/**")
    if workspace:
        page.locator("#workspace").select_option(label=workspace)
    page.locator("#channel").select_option(label="#tickets")
    page.locator("#approve").click()


def slack_row(db: psycopg.Connection, place: Place) -> tuple:
    found = db.execute(
        "SELECT p.id, p.meta, p.status, c.ciphertext FROM project_integrations p "
        "JOIN integration_credentials c ON c.integration_id = p.id "
        "WHERE p.project_id = %s AND p.integration_type = 'slack'",
        (place.project_id,),
    ).fetchone()
    assert found is not None
    return found


def test_reconnect_keeps_history_and_the_guard_refuses_another_workspace(
    page: Page, db: psycopg.Connection
) -> None:
    place = Place(identity().tenant_id, project_id("Acme", PROJECT))
    sign_in(page, "alice")
    open_project(page, PROJECT)
    consent(page)
    page.wait_for_url("**/projects/*/integrations?status=success**")
    expect(page.locator("#status-slack")).to_have_text("Connected")
    row_id = slack_row(db, place)[0]
    delivered = add_delivery(db, place, row_id, ticket_event(ticket_id="T-reconnect"), kind="slack")
    db.execute("UPDATE deliveries SET status = 'delivered', attempts = 1 WHERE id = %s", (delivered,))
    db.execute("UPDATE project_integrations SET status = 'needs_reconnect' WHERE id = %s", (row_id,))

    page.reload()
    expect(page.locator("#status-slack")).to_have_text("Needs reconnect")
    expect(page.locator("#install-slack")).to_have_text("Reconnect")
    consent(page)
    page.wait_for_url("**/projects/*/integrations?status=success**")
    expect(page.locator("#status-slack")).to_have_text("Connected")
    expect(page.locator("#channel-slack")).to_have_text("#tickets")
    expect(page.locator("#account-slack")).to_have_text("Acme Support (sandbox)")
    assert slack_row(db, place)[0] == row_id
    page.locator("#activity-slack").click()
    expect(page.locator(f"#delivery-{delivered}")).to_have_attribute("data-status", "delivered")
    page.locator("#activity-close").click()

    # Another workspace: nothing changes, the agent is asked, and keeping the old one is the default.
    db.execute("UPDATE project_integrations SET status = 'needs_reconnect' WHERE id = %s", (row_id,))
    page.reload()
    before = slack_row(db, place)
    consent(page, workspace="Globex Help (sandbox)")
    page.wait_for_url("**/projects/*/integrations?status=error**reason=wrong_account**")
    expect(page.locator("#flash")).to_contain_text("different account than the one connected here")
    expect(page.locator("#flash")).to_contain_text("Acme Support (sandbox)")
    question = page.locator("#replace-question")
    expect(question).to_contain_text("Globex Help (sandbox)")
    expect(page.locator("#replace-confirm")).to_have_text(
        "Replace Acme Support (sandbox) with Globex Help (sandbox)"
    )
    assert slack_row(db, place) == before
    axe = AxeReport()  # the question is a dialog of its own: the same WCAG 2.1 A/AA check as the others
    axe.check(page, "wrong-account question", page.locator("#replace-confirm"))
    axe.print()
    axe.assert_clean()
    page.keyboard.press("Escape")  # closing the question refuses, like "Keep"
    expect(question).to_be_hidden()
    expect(page.locator("#flash")).to_contain_text("stays connected to Acme Support (sandbox)")
    expect(page.locator("#status-slack")).to_have_text("Needs reconnect")
    assert slack_row(db, place) == before
    actions = [
        action
        for (action,) in db.execute(
            "SELECT action FROM integration_events WHERE integration_id = %s ORDER BY created_at", (row_id,)
        )
    ]
    assert actions[-4:] == ["reconnected", "status_changed", "install_failed", "replacement_refused"]

    page.reload()  # the same link again: the replacement is gone, nothing is asked
    expect(page.locator("#status-slack")).to_have_text("Needs reconnect")
    expect(question).to_be_hidden()
    uninstall(page, "slack")
