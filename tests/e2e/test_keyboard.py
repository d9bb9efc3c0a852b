"""The keyboard alone (Tab, Shift+Tab, Enter, Space, arrows, typing; never a click) in a real Chromium:
sign in, switch project, install Discord through its consent page, connect Telegram with a BotFather token
and pick its chat.
Every stop shows a focus style; dialogs hold the focus, Escape closes them and the focus returns to the
control that opened them."""

from __future__ import annotations

import psycopg
import pytest
from playwright.sync_api import Page, expect

from tests.utils.a11y import focused, tab_stops, tab_to

pytestmark = pytest.mark.e2e


def press(page: Page, key: str) -> None:
    page.keyboard.press(key)


def focus_stays_in_the_dialog(page: Page, presses: int = 12) -> None:
    """Tab and Shift+Tab, past the ends of the dialog: the focus never leaves it."""
    for key in ["Tab"] * presses + ["Shift+Tab"] * presses:
        press(page, key)
        now = focused(page)
        assert now["inDialog"], f"{key} left the dialog for {now}"
        assert now["visible"], f"no visible focus style on {now}"


def escape_returns_focus(page: Page, dialog: str, opener: str) -> None:
    """Open the dialog from `opener` with Enter, check it holds the focus, close it with Escape."""
    tab_to(page, opener)
    press(page, "Enter")
    expect(page.locator(dialog)).to_be_visible()
    assert focused(page)["inDialog"], "the dialog opened without taking the focus"
    focus_stays_in_the_dialog(page)
    press(page, "Escape")
    expect(page.locator(dialog)).to_be_hidden()
    expect(page.locator(f"#{opener}")).to_be_focused()


def tab_order_follows_the_cards(page: Page) -> None:
    """Tab visits the header first, then card after card in reading order (row by row, left to right),
    each card's controls together."""
    stops = tab_stops(page)
    cards = [str(stop["card"]) for stop in stops if stop["card"]]
    visited = list(dict.fromkeys(cards))
    assert len(visited) >= 6, f"Tab reached only these cards: {visited}"
    assert cards == [card for card in visited for _ in range(cards.count(card))], (
        f"a card was left and re-entered: {cards}"
    )
    places = {str(stop["card"]): (stop["top"], stop["left"]) for stop in stops if stop["card"]}
    assert visited == sorted(visited, key=lambda card: places[card]), f"cards not in reading order: {visited}"
    ids = [str(stop["id"]) for stop in stops]
    assert (
        ids.index("project-switcher")
        < ids.index("sign-out")
        < ids.index(next(s for s in ids if s.startswith("audit-")))
    )


def choose_project(page: Page, name: str) -> None:
    tab_to(page, "project-switcher")
    press(page, "Enter")
    focused_option = page.locator('[role="option"]:focus')
    expect(focused_option).to_have_count(1)  # the list is open and has the focus (a frame after Enter)
    for _ in range(10):
        if focused_option.inner_text().strip() == name:
            break
        before = focused_option.inner_text()
        press(page, "ArrowDown")
        expect(focused_option).not_to_have_text(before)  # the focus moved before the next look
    expect(focused_option).to_have_text(name)
    press(page, "Enter")
    # The URL matched before the switch too: the new project's name is the sign (slow on a busy machine).
    expect(page.locator("#project-name")).to_have_text(name, timeout=15_000)
    expect(page.get_by_role("listbox")).to_have_count(0)  # the Enter that picked it did not reopen it
    expect(page.locator("#project-switcher")).to_be_focused()


def test_install_discord_and_connect_telegram_with_the_keyboard_only(
    page: Page, console: dict[str, str], onboarding: psycopg.Connection
) -> None:
    page.goto("/login")
    expect(page.locator("#login-alice")).to_be_visible()
    tab_to(page, "login-alice")
    press(page, "Enter")
    page.wait_for_url("**/projects/*/integrations**")
    expect(page.locator("#cards")).to_be_visible()
    tab_order_follows_the_cards(page)
    choose_project(page, "Onboarding")

    # Discord: the card's Install, the consent page's Authorize, back to the console.
    tab_to(page, "install-discord")
    press(page, "Enter")
    page.wait_for_url("**/sandbox/discord/**")
    tab_to(page, "approve")
    press(page, "Enter")
    page.wait_for_url("**/projects/*/integrations?status=success**")
    expect(page.locator("#flash")).to_contain_text("Discord is connected")
    expect(page.locator("#flash-region")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#status-discord")).to_have_text("Connected")
    assert page.evaluate("document.activeElement === document.body"), "the message took the focus"

    escape_returns_focus(page, "#activity-panel", "activity-discord")
    escape_returns_focus(page, "#audit-panel", "audit-discord")
    escape_returns_focus(page, "[role='alertdialog']", "uninstall-discord")
    expect(page.locator("#status-discord")).to_have_text("Connected")  # Escape kept it

    # Telegram: a token from BotFather, typed into the connect dialog.
    botfather = page.context.new_page()
    botfather.goto(console["sandbox"] + "/sandbox/telegram/botfather")
    tab_to(botfather, "newbot")
    press(botfather, "Enter")
    token = botfather.locator("#bot-token").inner_text()
    page.bring_to_front()
    escape_returns_focus(page, "#connect-form", "install-telegram")
    press(page, "Enter")  # the focus is back on Install: open it again
    expect(page.locator("#connect-form")).to_be_visible()
    tab_to(page, "field-bot_token")
    page.keyboard.type(token)
    tab_to(page, "connect-submit")
    press(page, "Space")
    page.wait_for_url("**/projects/*/integrations?status=success**")
    expect(page.locator("#status-telegram")).to_have_text("Needs setup")
    expect(page.locator("#status-discord")).to_have_text("Connected")

    # The bot joins a chat (BotFather's page), then the card's picker chooses it: Enter, arrows, Enter.
    botfather.bring_to_front()
    tab_to(botfather, "add-to-chat")
    press(botfather, "Enter")
    chat = botfather.locator("button[id^='add-']").first.get_attribute("id")
    assert chat
    tab_to(botfather, chat)
    with botfather.expect_navigation():  # the form posts; closing mid-navigation can hang Chromium
        press(botfather, "Enter")
    botfather.close()
    page.bring_to_front()
    page.reload()
    expect(page.locator("#pick-telegram")).to_be_visible()  # the page, not its first-paint skeleton
    tab_to(page, "pick-telegram")
    press(page, "Enter")
    expect(page.locator("#target-telegram")).to_be_visible()
    tab_to(page, "target-telegram")
    press(page, "Enter")
    expect(page.get_by_role("option").first).to_be_focused()
    press(page, "Enter")
    expect(page.locator("#status-telegram")).to_have_text("Connected")
    expect(page.get_by_role("listbox")).to_have_count(0)
    # The focus-style check can fail: with the style taken off one control, it says so there.
    page.add_style_tag(
        content="#sign-out:focus-visible { outline: none !important; box-shadow: none !important }"
    )
    with pytest.raises(AssertionError, match=r"no visible focus style on \{'id': 'sign-out'"):
        tab_to(page, "sign-out")
