"""SECURITY.md "Hostile input anywhere": huge query strings, NUL bytes, invalid UTF-8, SQL meta-characters,
path tricks in `{type}` -> 4xx, never 500, nothing written."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from devtools.seed import demo_id
from tests.utils.identities import project_id, token_for

ACME = "Acme"
TABLES = (
    "tenants",
    "projects",
    "users",
    "project_integrations",
    "integration_credentials",
    "integration_events",
)

# Already percent-encoded: sent on the wire exactly like this.
HOSTILE = {
    "nul": "abc%00def",
    "invalid-utf8": "%FF%FE%C3%28",
    "sql": "%27%20OR%201%3D1%20--",
    "sql-drop": "x%22%3B%20DROP%20TABLE%20projects%3B%20--",
    "traversal": "..%2F..%2Fetc%2Fpasswd",
    "dot-segments": "discord%2F..%2Fslack",
    "backslash": "..%5C..%5Cwindows",
    "unicode": "disc%C3%B6rd",
    "upper": "DISCORD",
    "space": "discord%20",
    "long": "a" * 5000,
    "crlf": "discord%0D%0ASet-Cookie:%20x=1",
}


def snapshot(db) -> dict[str, int]:
    return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}


@pytest.fixture
def api(live_url) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token_for(ACME, 'ada@acme.example')}"}
    cookies = {"tms_session": token_for(ACME, "ada@acme.example")}
    with httpx.Client(base_url=live_url, headers=headers, cookies=cookies, timeout=20) as client:
        yield client


def targets(value: str) -> list[tuple[str, str]]:
    tenant, project = demo_id(ACME), project_id(ACME, "Customer Support")
    base = f"/v1/tenants/{tenant}/projects/{project}/integrations"
    return [
        ("GET", f"/v1/tenants/{value}/projects/{project}/integrations"),
        ("GET", f"/v1/tenants/{tenant}/projects/{value}/integrations"),
        ("GET", f"{base}/{value}/install"),
        ("DELETE", f"{base}/{value}"),
        ("DELETE", f"/v1/tenants/{tenant}/projects/{value}/integrations/discord"),
        ("GET", f"/api/public/integrations/{value}/callback?state={value}&code={value}"),
        ("GET", f"/api/public/integrations/discord/callback?state={value}&code={value}&error={value}"),
        ("GET", f"/api/console/integrations/{value}/install?project_id={project}"),
        ("GET", f"/api/console/integrations/discord/install?project_id={value}"),
    ]


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_values_get_4xx_and_write_nothing(api, db, value) -> None:
    before = snapshot(db)
    for method, url in targets(value):
        answer = api.request(method, url)
        assert answer.status_code < 500, (method, url, answer.status_code, answer.text[:300])
        assert answer.status_code >= 300
        assert "Traceback" not in answer.text
        assert "set-cookie: x=1" not in str(answer.headers).lower()
    assert snapshot(db) == before


def raw_status(live_url: str, request_line: bytes) -> int | None:
    """Send one request line as raw bytes; the status code, or None if the server just hung up."""
    parts = urlsplit(live_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        try:
            sock.sendall(request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
            head = sock.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            return None
    return int(head.split()[1]) if head else None


def test_huge_query_strings_are_refused(api, live_url, db) -> None:
    before = snapshot(db)
    for size in (10_000, 60_000):
        huge = "a" * size
        for url in (
            f"/api/public/integrations/discord/callback?state={huge}&code={huge[:100]}",
            f"/api/public/integrations/discord/callback?junk={huge}",
        ):
            assert 400 <= api.get(url).status_code < 500
    huge = b"a" * 1_000_000
    status = raw_status(
        live_url, b"GET /api/public/integrations/discord/callback?state=" + huge + b" HTTP/1.1"
    )
    assert status is None or 400 <= status < 500
    assert snapshot(db) == before


def test_malformed_callbacks_get_the_plain_page_and_change_nothing(api, db) -> None:
    before = snapshot(db)
    for url in (
        "/api/public/integrations/discord/callback?state=" + "s" * 2049 + "&code=c",
        "/api/public/integrations/discord/callback?state=s&code=c&error=" + "e" * 257,
        "/api/public/integrations/discord/callback?state=s&admin_consent=" + "T" * 17,
        "/api/public/integrations/Discord/callback?state=s&code=c",
        "/api/public/integrations/" + "d" * 51 + "/callback?state=s&code=c",
    ):
        answer = api.get(url)
        assert answer.status_code == 400, url
        assert answer.headers["content-type"].startswith("text/html"), url
        assert "data-reason='invalid_state'" in answer.text and "Back to the console" in answer.text, url
        assert "set-cookie" not in answer.headers  # the browser's binding stays for its genuine callback
    assert snapshot(db) == before


def test_many_repeated_parameters_are_refused(api, db) -> None:
    before = snapshot(db)
    query = "&".join(f"state=s{i}" for i in range(2000))
    answer = api.get(f"/api/public/integrations/discord/callback?{query}")
    assert answer.status_code == 400
    assert snapshot(db) == before


def test_raw_invalid_utf8_on_the_wire(live_url, db) -> None:
    """Bytes that are not UTF-8 in the request line itself (no percent-encoding)."""
    before = snapshot(db)
    for path in (
        b"/v1/tenants/\xff\xfe/projects/x/integrations",
        b"/api/public/integrations/\xc3\x28/callback",
    ):
        status = raw_status(live_url, b"GET " + path + b" HTTP/1.1")
        assert status is not None and 400 <= status < 500
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "' OR 1=1 --"},
        {"user_id": "x" * 10_000},
        {"user_id": "abc\x00def"},
        {"user_id": "../../etc/passwd"},
    ],
    ids=["sql", "long", "nul", "traversal"],
)
def test_hostile_demo_sign_in(live_url, db, body) -> None:
    before = snapshot(db)
    with httpx.Client(base_url=live_url) as client:
        answer = client.post("/api/session/demo", data=body)
    assert 400 <= answer.status_code < 500 and "tms_session" not in answer.headers.get("set-cookie", "")
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer " + "A" * 9000,
        "Bearer " + "%FF" * 10,
        "Bearer ' OR 1=1 --",
        "Basic Zm9vOmJhcg==",
        "Bearer a.b.c",
    ],
)
def test_hostile_sign_in_tokens(live_url, authorization) -> None:
    with httpx.Client(base_url=live_url) as client:
        answer = client.post("/api/session", headers={"Authorization": authorization})
    assert answer.status_code == 401 and "set-cookie" not in answer.headers
