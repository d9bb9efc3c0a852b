"""A provider's event reaches an open page: "Remove app" pressed on the sandbox Slack's page turns the Slack
card to "Needs reconnect", with the reason in plain words, without a page reload; a reconnect (Install
again) makes it Connected."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console import approve, sign_in
from tests.e2e.test_providers import open_project, uninstall
from tests.utils.artifacts import ARTIFACTS

pytestmark = pytest.mark.e2e


def test_remove_app_at_slack_turns_the_open_card_to_needs_reconnect(
    page: Page, console: dict[str, str]
) -> None:
    sign_in(page, "alice")
    open_project(page, "Onboarding")
    approve(page, "slack")
    expect(page.locator("#status-slack")).to_have_text("Connected")
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    slack = page.context.new_page()
    slack.goto(f"{console['sandbox']}/sandbox/apps")
    slack.locator("#slack-remove-app").click()
    expect(slack.locator("#outcome")).to_have_attribute("data-status", "200")
    slack.close()

    expect(page.locator("#status-slack")).to_have_text("Needs reconnect")
    expect(page.locator("#status-note-slack")).to_contain_text("removed on the platform's side")
    assert page.evaluate("window.__sameDocument === true")
    page.screenshot(path=str(ARTIFACTS / "card-removed-at-provider.png"), full_page=True)

    approve(page, "slack")  # the reconnect
    expect(page.locator("#status-slack")).to_have_text("Connected")
    uninstall(page, "slack")
