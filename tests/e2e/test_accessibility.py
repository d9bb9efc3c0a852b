"""axe-core (WCAG 2.1 A and AA) in a real Chromium on every page and dialog an agent or an admin meets:
login, the integrations page with every card state, each dialog and panel, the admin overview with its
filters open, the audit page, and the sandbox providers' consent pages and BotFather stand-in. Each check
first waits for an element only the real page has; a serious or critical violation fails the test (with
its rule and selectors), moderate and minor ones are printed."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_console import sign_in
from tests.e2e.test_providers import open_project
from tests.utils.a11y import AxeReport, tab_to
from tests.utils.deliveries import add_webhook
from tests.utils.events import Place
from tests.utils.identities import identity, project_id

pytestmark = pytest.mark.e2e
PROJECT = "Onboarding"
LISTBOX = '[role="listbox"]'


@pytest.fixture
def report() -> Iterator[AxeReport]:
    """What axe found in the test; printed at the end, whether the test passed or stopped early."""
    found = AxeReport()
    yield found
    found.print()  # moderate and minor ones too, and what was found before a step failed


def consent(page: Page, report: AxeReport, kind: str, *, channel: str = "") -> None:
    """Install through the sandbox's consent page, checking that page on the way."""
    page.locator(f"#install-{kind}").click()
    page.wait_for_url(f"**/sandbox/{kind}/**")
    report.check(page, f"{kind} consent page", page.locator("#approve"))
    if channel:
        page.locator("#channel").select_option(label=channel)
    page.locator("#approve").click()
    page.wait_for_url("**/projects/*/integrations?status=success**")


def every_card_state(page: Page, report: AxeReport, db: psycopg.Connection) -> None:
    """Discord connected with failing deliveries, Teams needing setup, Slack needing a reconnect, a
    webhook connected, the rest not connected."""
    place = Place(identity().tenant_id, project_id("Acme", PROJECT))
    consent(page, report, "discord")
    consent(page, report, "msteams")
    consent(page, report, "slack", channel="#tickets")
    add_webhook(db, place, "https://hooks.example.com/a11y")
    db.execute(
        "UPDATE project_integrations SET status = 'needs_reconnect' "
        "WHERE project_id = %s AND integration_type = 'slack'",
        (place.project_id,),
    )
    db.execute(
        "INSERT INTO delivery_health (integration_id, tenant_id, project_id, integration_type, "
        "last_delivery_at, last_status, last_reason, failing, failing_since) SELECT id, tenant_id, "
        "project_id, integration_type, now(), 'retrying', 'server_error', true, now() - interval '1 hour' "
        "FROM project_integrations WHERE project_id = %s AND integration_type = 'discord'",
        (place.project_id,),
    )


def integrations_page(page: Page, report: AxeReport, who: str) -> None:
    """The page with every card state, then each of its dialogs and panels."""
    page.reload()
    expect(page.locator("#status-slack")).to_have_text("Needs reconnect")
    expect(page.locator("#status-msteams")).to_have_text("Needs setup")
    expect(page.locator("#status-discord")).to_have_text("Connected")
    expect(page.locator("#status-webhook")).to_have_text("Connected")
    expect(page.locator("#status-telegram")).to_have_text("Not connected")
    expect(page.locator("#last-delivery-discord")).to_contain_text("Failing since")
    # Status in words, in a polite live region that names the provider (changes over the websocket).
    live = page.locator("[aria-live='polite']", has=page.locator("#status-slack"))
    expect(live).to_have_text("Slack status: Needs reconnect")
    expect(page.locator("#flash-region")).to_have_attribute("aria-live", "polite")
    report.check(page, f"{who}: integrations, every card state", page.locator("#cards"))

    page.locator("#uninstall-discord").click()
    report.check(page, f"{who}: uninstall dialog", page.locator("#uninstall-confirm"))
    page.locator("#uninstall-cancel").click()
    expect(page.locator("#uninstall-confirm")).to_be_hidden()

    page.locator("#activity-discord").click()
    report.check(page, f"{who}: activity panel", page.locator("#activity-panel"))
    page.locator("#activity-close").click()
    page.locator("#audit-discord").click()
    expect(page.locator("#audit-panel .audit-entry").first).to_be_visible()
    report.check(page, f"{who}: audit panel", page.locator("#audit-panel"))
    page.locator("#audit-close").click()

    page.locator("#edit-events-discord").click()
    report.check(page, f"{who}: event types dialog", page.locator("#event-choices"))
    page.locator("#events-cancel").click()

    page.locator("#pick-msteams").click()
    page.locator("#target-msteams").click()
    report.check(page, f"{who}: target picker open", page.get_by_role("option").first, layer=LISTBOX)
    page.keyboard.press("Escape")
    report.check(page, f"{who}: target picker", page.locator("#target-msteams"))

    page.locator("#install-telegram").click()
    report.check(page, f"{who}: Telegram connect dialog", page.locator("#field-bot_token"))
    page.locator("#connect-cancel").click()
    expect(page.locator("#connect-form")).to_be_hidden()


def webhook_form(page: Page, report: AxeReport, who: str) -> None:
    """The webhook connect form, its ready-made templates open, then with a template's preview."""
    page.locator("#install-webhook").click()
    report.check(page, f"{who}: webhook connect dialog", page.locator("#field-url"))
    page.locator("#template-ready-made").click()
    report.check(
        page, f"{who}: webhook templates open", page.get_by_role("option", name="slack"), layer=LISTBOX
    )
    page.get_by_role("option", name="slack").click()
    expect(page.locator("#template-preview")).to_contain_text('"text"')
    report.check(page, f"{who}: webhook template preview", page.locator("#template-preview"))
    page.locator("#connect-cancel").click()


def test_login_page(page: Page, report: AxeReport) -> None:
    page.goto("/login")
    report.check(page, "login", page.locator("#login-alice"))
    report.assert_clean()


def test_integrations_dialogs_and_consent_pages_for_an_agent_and_an_admin(
    page: Page, browser: Browser, console: dict[str, str], report: AxeReport, onboarding: psycopg.Connection
) -> None:
    sign_in(page, "alice")
    webhook_form(page, report, "agent")
    open_project(page, PROJECT)
    every_card_state(page, report, onboarding)
    integrations_page(page, report, "agent")
    page.locator("#activity-webhook").click()
    expect(page.locator("#activity-empty")).to_be_visible()
    report.check(page, "agent: empty activity panel", page.locator("#activity-panel"))
    page.locator("#activity-close").click()
    page.goto("/admin")
    report.check(page, "agent: overview refused", page.locator("#admin-denied"))
    page.goto("/admin/audit")
    report.check(page, "agent: audit page refused", page.locator("#admin-denied"))

    admin = browser.new_context(base_url=console["url"], viewport={"width": 1280, "height": 900})
    admin.set_default_timeout(20_000)
    ada = admin.new_page()
    sign_in(ada, "ada")
    webhook_form(ada, report, "admin")
    open_project(ada, PROJECT)
    integrations_page(ada, report, "admin")
    ada.locator("#setup-msteams").click()
    report.check(ada, "admin: setup dialog", ada.locator("#setup-env"))
    ada.locator("#setup-check").click()
    expect(ada.locator("#setup-ok")).to_be_visible()
    report.check(ada, "admin: setup dialog checked", ada.locator("#setup-ok"))
    ada.locator("#setup-close").click()
    admin.close()
    report.assert_clean()


def test_admin_overview_with_filters_open_and_the_audit_page(page: Page, report: AxeReport) -> None:
    sign_in(page, "ada")
    page.goto("/admin")
    report.check(page, "overview", page.locator("#overview-grid"))
    for select in ("overview-status", "overview-provider", "overview-sort"):
        page.locator(f"#{select}").click()
        report.check(page, f"overview, {select} open", page.get_by_role("option").first, layer=LISTBOX)
        page.keyboard.press("Escape")
    billing = project_id("Acme", "Billing Desk")
    tab_to(page, f"open-{billing}")  # a project opens from the overview with the keyboard too
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/projects/{billing}/integrations")
    expect(page.locator("#project-name")).to_have_text("Billing Desk")
    page.goto("/admin")
    page.locator("#overview-failing").click()
    expect(page.locator("#overview-failing")).to_have_attribute("aria-checked", "true")
    report.check(page, "overview, failing only", page.locator("#overview-failing"))
    page.goto("/admin/audit")
    report.check(page, "audit page", page.locator("#audit-filter-actor"))
    page.locator("#audit-filter-project").click()
    report.check(page, "audit page, project filter open", page.get_by_role("option").first, layer=LISTBOX)
    page.keyboard.press("Escape")
    report.assert_clean()


def test_botfather_stand_in(page: Page, console: dict[str, str], report: AxeReport) -> None:
    page.goto(console["sandbox"] + "/sandbox/telegram/botfather")
    report.check(page, "BotFather", page.locator("#newbot"))
    page.locator("#newbot").click()
    report.check(page, "BotFather, new bot", page.locator("#bot-token"))
    page.locator("#add-to-chat").click()
    report.check(page, "BotFather, chats", page.locator("button[id^='add-']").first)
    report.assert_clean()
