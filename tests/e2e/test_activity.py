"""The Activity panel in a real Chromium: a failing delivery shows its reason in plain words and its
attempts; after the target is fixed, Resend delivers it (the worker process sends to the sandbox)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console import sign_in
from tests.e2e.test_providers import open_project, uninstall
from tests.utils.deliveries import running_worker, seal_webhook, wait_for
from tests.utils.events import Place, events_path, service_token, ticket_event
from tests.utils.identities import identity, project_id
from tests.utils.live import sandbox_env

pytestmark = pytest.mark.e2e
PROJECT = "Onboarding"


def connect_webhook(page: Page, url: str) -> str:
    """Connect the webhook through its form; the signing secret shown once."""
    page.locator("#install-webhook").click()
    page.locator("#field-url").fill(url)
    page.locator("#connect-submit").click()
    secret = page.locator("#reveal-signing-secret")
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    shown = secret.inner_text()
    page.locator("#reveal-done").click()
    expect(page.locator("#status-webhook")).to_have_text("Connected")
    return shown


def test_a_failed_delivery_shows_why_and_resend_delivers_it(
    page: Page, console: dict[str, str], db: psycopg.Connection, tmp_path: Path
) -> None:
    place = Place(identity().tenant_id, project_id("Acme", PROJECT))
    receiver = f"{console['sandbox']}/sandbox/webhook/receive/{uuid.uuid4().hex}"
    sign_in(page, "alice")
    open_project(page, PROJECT)
    secret = connect_webhook(page, receiver + "?status=400")
    page.locator("#activity-webhook").click()
    expect(page.locator("#activity-empty")).to_contain_text("No deliveries yet")
    page.locator("#activity-close").click()

    event = ticket_event(ticket_id="T-e2e")
    answer = httpx.post(
        console["url"] + events_path(place.tenant_id, place.project_id),
        json=event,
        headers={"Authorization": f"Bearer {service_token('Acme')}"},
        timeout=20,
    )
    assert answer.status_code == 202, answer.text
    query = (
        "SELECT d.id, d.status FROM deliveries d JOIN ticket_events e ON e.id = d.ticket_event_id "
        "WHERE e.event_id = %s ORDER BY d.created_at"
    )
    with running_worker(tmp_path / "worker.log", **sandbox_env(console["sandbox"], console["canary"])):
        [(failed_id, _)] = wait_for(db, query, (event["id"],), lambda rows: rows and rows[0][1] == "failed")

        page.locator("#activity-webhook").click()
        row = page.locator(f"#delivery-{failed_id}")
        expect(row).to_have_attribute("data-status", "failed")
        expect(row).to_contain_text("New ticket")
        expect(row).to_contain_text("#1042 Printer on fire")
        expect(row).to_contain_text("refused the message as sent")
        page.locator(f"#attempts-{failed_id}").click()
        expect(page.locator(f"#attempt-list-{failed_id}")).to_contain_text("rejected (400)")

        integration = db.execute(
            "SELECT id FROM project_integrations WHERE project_id = %s AND integration_type = 'webhook'",
            (place.project_id,),
        ).fetchone()
        assert integration is not None
        seal_webhook(db, place, integration[0], receiver, secret)  # the receiver is fixed
        page.locator(f"#resend-{failed_id}").click()
        expect(page.locator("#activity-notice")).to_contain_text("Queued again")
        rows = wait_for(db, query, (event["id"],), lambda rows: len(rows) == 2 and rows[1][1] == "delivered")
        page.locator("#activity-refresh").click()
        expect(page.locator(f"#delivery-{rows[1][0]}")).to_have_attribute("data-status", "delivered")
        expect(page.locator(f"#delivery-{failed_id}")).to_have_attribute("data-status", "failed")
    page.locator("#activity-close").click()
    uninstall(page, "webhook")
