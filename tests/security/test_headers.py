"""Security headers on every response the console and the API send (issue 3: CSP without inline script,
Referrer-Policy no-referrer on the callback, X-Content-Type-Options, frame-ancestors)."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from devtools.seed import demo_id
from tests.utils.identities import project_id, token_for


def directives(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def assert_secure(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "referrer-policy" in response.headers
    csp = directives(response)
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    scripts = csp.get("script-src", csp.get("default-src", ""))
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts


def api_requests(live_url: str) -> list[tuple[str, str, dict[str, str]]]:
    tenant, project = demo_id("Acme"), project_id("Acme", "Customer Support")
    auth = {"Authorization": f"Bearer {token_for('Acme', 'alice@acme.example')}"}
    base = f"/v1/tenants/{tenant}/projects/{project}/integrations"
    return [
        ("GET", base, auth),
        ("GET", base, {}),  # 401
        ("GET", f"/v1/tenants/{tenant}/projects/{demo_id('nope')}/integrations", auth),  # 404
        ("GET", f"{base}/discord/install", auth),
        ("GET", f"{base}/Bad-Type/install", auth),  # 422
        ("GET", "/api/public/integrations/discord/callback?state=x", {}),  # plain error page
        ("GET", "/api/health", {}),
        ("GET", "/openapi.json", {}),
        ("GET", "/nothing-here", {}),
    ]


def test_every_api_response_carries_the_security_headers(live_url) -> None:
    with httpx.Client(base_url=live_url) as client:
        for method, path, headers in api_requests(live_url):
            answer = client.request(method, path, headers=headers)
            assert_secure(answer)


def test_callback_never_leaks_its_url_through_the_referrer(live_url) -> None:
    with httpx.Client(base_url=live_url, follow_redirects=False) as client:
        answer = client.get("/api/public/integrations/discord/callback", params={"state": "x", "code": "y"})
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"


CONSOLE_PAGES = ["/", "/login", f"/projects/{project_id('Acme', 'Customer Support')}/integrations"]


def sha256_source(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_console_pages_allow_exactly_their_own_inline_scripts(console, path) -> None:
    """The prerendered Reflex pages: each inline script is allowed by its hash, nothing else inline."""
    answer = httpx.get(console["url"] + path, follow_redirects=True)
    assert answer.status_code == 200
    assert_secure(answer)
    allowed = set(directives(answer)["script-src"].split()[1:])
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", answer.text, re.S)
    assert inline, "expected React Router's inline hydration scripts"
    for script in inline:
        assert sha256_source(script) in allowed, "an inline script the CSP would block"


def test_console_static_assets_carry_the_headers(console) -> None:
    page = httpx.get(console["url"] + "/login", follow_redirects=True)
    asset = re.search(r'src="(/assets/[^"]+\.js)"', page.text) or re.search(
        r'"(/assets/[^"]+\.js)"', page.text
    )
    assert asset, "no script asset found on the login page"
    answer = httpx.get(console["url"] + asset.group(1))
    assert answer.status_code == 200
    assert_secure(answer)
