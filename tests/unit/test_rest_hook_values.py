"""REST hooks' pure parts: the API's event choices, and what a listing shows of a URL."""

from __future__ import annotations

from typing import get_args

import pytest

from tms_console.api.hooks import HookEvent
from tms_console.domain.events import EVENT_TYPES
from tms_console.services.rest_hooks import HOOK_EVENTS, display_url


def test_the_api_offers_every_event_type_and_the_wildcard() -> None:
    assert get_args(HookEvent) == HOOK_EVENTS == ("*", *EVENT_TYPES)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.zapier.com/hooks/catch/123/abcdef/", "https://hooks.zapier.com"),
        ("https://hook.eu1.make.com/s3cr3tt0k3n?x=1#f", "https://hook.eu1.make.com"),
        ("https://Example.COM:8443/p/secret", "https://example.com:8443"),
        ("https://[2001:db8::1]/secret", "https://[2001:db8::1]"),
    ],
)
def test_a_listing_shows_the_origin_only(url: str, shown: str) -> None:
    assert display_url(url) == shown
