"""Reflow and zoom in a real Chromium: at 320 CSS px (1280 px at 400 % zoom) and 640 px (1280 px at 200 %)
no main page scrolls sideways and its key controls stay in view; with `prefers-reduced-motion` dialogs
appear without animation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console import sign_in

pytestmark = pytest.mark.e2e
WIDTHS = (320, 640)


def fits(page: Page, width: int, *ids: str) -> None:
    """No sideways scrolling, and each of these elements is visible and wholly inside the viewport."""
    extra = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert extra <= 1, f"{page.url} scrolls sideways by {extra}px at {width}px"
    for element_id in ids:
        element = page.locator(f"#{element_id}")
        expect(element).to_be_visible()
        box = element.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (
            f"#{element_id} is cut off at {width}px: {box}"
        )


@pytest.mark.parametrize("width", WIDTHS)
def test_main_pages_reflow(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/login")
    fits(page, width, "login-alice", "login-ada")
    sign_in(page, "ada")
    fits(page, width, "project-switcher", "sign-out", "admin-link", "install-discord", "audit-discord")
    page.locator("#audit-discord").click()
    fits(page, width, "audit-panel", "audit-close")
    page.keyboard.press("Escape")
    page.goto("/admin")
    fits(
        page,
        width,
        "overview-search",
        "overview-status",
        "overview-failing",
        "notify-target",
        "audit-log-link",
    )
    page.goto("/admin/audit")
    fits(page, width, "audit-filter-project", "audit-filter-actor", "audit-export")


def test_dialogs_do_not_animate_for_those_who_ask_for_reduced_motion(page: Page) -> None:
    page.emulate_media(reduced_motion="reduce")
    sign_in(page, "alice")
    page.locator("#audit-discord").click()
    expect(page.locator("#audit-panel")).to_be_visible()
    seconds = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('#audit-panel')).animationDuration)"
    )
    assert seconds < 0.001, f"the dialog still animates for {seconds}s"
    page.emulate_media(reduced_motion="no-preference")
    page.keyboard.press("Escape")
    page.locator("#audit-discord").click()
    expect(page.locator("#audit-panel")).to_be_visible()
    seconds = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('#audit-panel')).animationDuration)"
    )
    assert seconds > 0.01, "the check above proves nothing: the dialog does not animate at all"
