"""SECURITY.md: provider text is never echoed. A real cancel through the browser carries hostile
`error_description` text; the page the agent then sees is the integrations page with the fixed
"cancelled" flash, and none of that text, neither rendered nor in the HTML."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console import sign_in

pytestmark = pytest.mark.e2e

MARKER = "ProviderSaysCallMe"
HOSTILE = f'<img src=x onerror="window.__pwned=1">{MARKER} +1-555-0100 \u202eevil'


def test_a_cancel_with_hostile_provider_text_shows_only_the_fixed_message(
    page: Page, console: dict[str, str]
) -> None:
    sign_in(page, "alice")
    expect(page.locator("#status-discord")).to_have_text("Not connected")
    page.locator("#install-discord").click()
    page.wait_for_url(console["sandbox"] + "/sandbox/discord/**")  # the provider's consent page
    expect(page.locator("#cancel")).to_be_visible()
    state = parse_qs(urlsplit(page.url).query)["state"][0]
    # The provider sends the browser back with its own words about why; the browser's binding cookie
    # goes along, as it would after a real Cancel.
    cancel = {"error": "access_denied", "error_description": HOSTILE, "state": state}
    page.goto("/api/public/integrations/discord/callback?" + urlencode(cancel))
    page.wait_for_url("**/projects/*/integrations?status=error**reason=access_denied**")
    expect(page.locator("#cards")).to_be_visible()
    expect(page.locator("#flash")).to_contain_text("Installation cancelled")
    expect(page.locator("#status-discord")).to_have_text("Not connected")
    html, text = page.content(), page.locator("body").inner_text()
    for fragment in (MARKER, "555-0100", "onerror", "\u202e"):
        assert fragment not in html and fragment not in text, fragment
    assert MARKER not in page.url and page.evaluate("window.__pwned") is None
    assert page.locator("img[src='x']").count() == 0
