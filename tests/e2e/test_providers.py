"""Every new provider installed through the console in a real Chromium, against its sandbox:
Teams and Google Chat (redirect + pick), Telegram (pasted token + chat), WhatsApp (popup), webhook
(form, ready-made template with live preview, secret shown once, signed test delivery), setup panel."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console import sign_in

pytestmark = pytest.mark.e2e


def open_project(page: Page, name: str) -> None:
    page.locator("#project-switcher").click()
    page.get_by_role("option", name=name).click()
    page.wait_for_url("**/projects/*/integrations")
    # The URL matched before the switch too: the new project's name is the sign (slow on a busy machine).
    expect(page.locator("#project-name")).to_have_text(name, timeout=15_000)


def pick(page: Page, kind: str, option: str) -> None:
    page.locator(f"#pick-{kind}").click()
    page.locator(f"#target-{kind}").click()
    page.get_by_role("option", name=option).click()
    expect(page.locator("#flash")).to_contain_text("Saved")
    expect(page.locator(f"#status-{kind}")).to_have_text("Connected")


def uninstall(page: Page, kind: str) -> None:
    page.locator(f"#uninstall-{kind}").click()
    page.locator("#uninstall-confirm").click()
    expect(page.locator(f"#status-{kind}")).to_have_text("Not connected")


def redirect_install(page: Page, kind: str) -> None:
    page.locator(f"#install-{kind}").click()
    page.wait_for_url(f"**/sandbox/{kind}/**")
    page.locator("#approve").click()
    page.wait_for_url("**/projects/*/integrations?status=success**")
    expect(page.locator(f"#status-{kind}")).to_have_text("Needs setup")


def test_teams_and_google_chat_install_and_pick(page: Page) -> None:
    sign_in(page, "alice")
    open_project(page, "Onboarding")
    redirect_install(page, "msteams")
    expect(page.locator("#account-msteams")).to_have_text("Megan Bowen")
    pick(page, "msteams", "Operations / General")
    expect(page.locator("#channel-msteams")).to_have_text("#General")

    redirect_install(page, "google_chat")
    expect(page.locator("#account-google_chat")).to_have_text("ada@acme-support.example")
    pick(page, "google_chat", "Support")
    expect(page.locator("#channel-google_chat")).to_have_text("#Support")
    uninstall(page, "msteams")
    uninstall(page, "google_chat")


def test_telegram_bot_token_and_chat(page: Page, console: dict[str, str]) -> None:
    sign_in(page, "alice")
    open_project(page, "Customer Support")
    botfather = page.context.new_page()
    botfather.goto(console["sandbox"] + "/sandbox/telegram/botfather")
    botfather.locator("#newbot").click()
    token = botfather.locator("#bot-token").inner_text()
    page.locator("#install-telegram").click()
    page.locator("#field-bot_token").fill(token)
    page.locator("#connect-submit").click()
    page.wait_for_url("**/projects/*/integrations?status=success**")
    expect(page.locator("#status-telegram")).to_have_text("Needs setup")
    expect(page.locator("#account-telegram")).to_have_text(re.compile(r"^@tms_sbx_\d+_bot$"))

    botfather.locator("#add-to-chat").click()
    with botfather.expect_navigation():  # the form posts; closing mid-navigation can hang Chromium
        botfather.locator("button[id^='add-']").first.click()
    botfather.close()
    page.reload()
    page.locator("#pick-telegram").click()
    page.locator("#target-telegram").click()
    page.get_by_role("option").first.click()
    expect(page.locator("#status-telegram")).to_have_text("Connected")
    assert token not in page.content()
    assert all(token not in frame for frame in page.frames_seen)  # type: ignore[attr-defined]
    uninstall(page, "telegram")


def test_whatsapp_embedded_signup_popup(page: Page) -> None:
    sign_in(page, "alice")
    open_project(page, "Customer Support")
    with page.expect_popup() as opened:
        page.locator("#install-whatsapp").click()
    popup = opened.value
    popup.locator("#approve").click()
    page.wait_for_url("**/projects/*/integrations?status=success**")
    # Meta's signup names the sending number; who receives the ticket updates is typed on the card.
    expect(page.locator("#status-whatsapp")).to_have_text("Needs setup")
    expect(page.locator("#account-whatsapp")).not_to_be_empty()
    page.locator("#pick-whatsapp").click()
    page.locator("#target-entry-whatsapp").fill("555 0100")
    page.locator("#target-save-whatsapp").click()
    expect(page.locator("#entry-error")).to_contain_text("country code")
    expect(page.locator("#status-whatsapp")).to_have_text("Needs setup")
    page.locator("#target-entry-whatsapp").fill("+1 555 123 0088")
    page.locator("#target-save-whatsapp").click()
    expect(page.locator("#status-whatsapp")).to_have_text("Connected")
    expect(page.locator("#channel-whatsapp")).to_have_text("+15551230088")
    page.locator("#test-whatsapp").click()
    expect(page.locator("#flash")).to_contain_text("WhatsApp Business: test message sent. Delivered")
    uninstall(page, "whatsapp")


def test_webhook_builder_secret_once_and_signed_test(page: Page, console: dict[str, str]) -> None:
    sign_in(page, "alice")
    open_project(page, "Onboarding")
    page.locator("#install-webhook").click()
    page.locator("#field-url").fill(console["sandbox"] + "/sandbox/webhook/receive/e2e")
    page.locator("#template-ready-made").click()
    page.get_by_role("option", name="slack").click()
    expect(page.locator("#template-preview")).to_contain_text('"text"')
    page.locator("#connect-submit").click()
    secret = page.locator("#reveal-signing-secret")
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    shown = secret.inner_text()
    page.locator("#reveal-done").click()
    page.wait_for_url("**/projects/*/integrations?status=success**")
    expect(page.locator("#status-webhook")).to_have_text("Connected")
    assert shown not in page.content()
    page.locator("#test-webhook").click()
    expect(page.locator("#flash")).to_contain_text("test message sent")
    deliveries = httpx.get(console["sandbox"] + "/sandbox/webhook/_inspect").json()["deliveries"]
    assert any(d["endpoint"] == "e2e" and d["headers"].get("x-tms-signature") for d in deliveries)
    uninstall(page, "webhook")


def test_setup_panel_shows_the_redirect_uri_and_checks_the_provider(
    page: Page, console: dict[str, str]
) -> None:
    sign_in(page, "ada")
    expect(page.locator("#card-msteams")).to_contain_text("Sandbox")  # no credentials: a stand-in plays it
    page.locator("#setup-msteams").click()
    expect(page.locator("#setup-redirect-uri")).to_have_text(
        console["url"] + "/api/public/integrations/msteams/callback"
    )
    expect(page.locator("#setup-env")).to_contain_text("MSTEAMS_CLIENT_ID")
    expect(page.locator("#setup-env tr", has_text="MSTEAMS_CLIENT_ID")).to_contain_text("required")
    expect(page.locator("#setup-env tr", has_text="MSTEAMS_REDIRECT_URI")).to_contain_text("optional")
    page.locator("#setup-check").click()
    expect(page.locator("#setup-ok")).to_contain_text("accepted")
