"""The WhatsApp sandbox speaks Meta's wire format (PROVIDERS.md §6), state in real Redis."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from sandbox import SandboxApp, create_sandbox_router, whatsapp
from sandbox.whatsapp import finish_script, origin_of
from tests.utils.forms import FormFields

CANARY = "CANARYwhatsapp5e1d"
REDIRECT = "http://console.test/api/public/integrations/whatsapp/callback"
APP = SandboxApp("1234567890123456", "whatsapp-sandbox-secret", REDIRECT, name="TMS <Console>")
CONFIG_ID = "1900000000000001"
DIALOG = "/sandbox/whatsapp/dialog"
GRAPH = "/sandbox/whatsapp/graph/v22.0"
INSPECT = "/sandbox/whatsapp/_inspect"
ACME, GLOBEX = "1010000000000001", "1010000000000002"
ACME_SUPPORT, ACME_MARKETING, GLOBEX_OPS = "1020000000000011", "1020000000000012", "1020000000000021"
SUPPORT_PHONE, BILLING_PHONE = "1030000000000111", "1030000000000112"
MARKETING_PHONE, GLOBEX_PHONE = "1030000000000121", "1030000000000211"
JSON_ACCEPT = {"Accept": "application/json"}
SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
JS_STRING = r'"(?:[^"\\]|\\.)*"'


async def make_client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(create_sandbox_router(redis_url=redis_url, apps={"whatsapp": APP}, canary=CANARY))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        yield http


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for http in make_client(redis_url):
        yield http


def dialog_query(**overrides: str) -> dict[str, str]:
    query = {
        "client_id": APP.client_id,
        "config_id": CONFIG_ID,
        "redirect_uri": REDIRECT,
        "state": "st-" + "x" * 40,
        "response_type": "code",
    }
    return query | overrides


async def submit(
    http: httpx.AsyncClient, decision: str, headers: dict[str, str] | None = None, **choice: str
) -> httpx.Response:
    page = await http.get(DIALOG, params=dialog_query())
    assert page.status_code == 200, page.text
    form = FormFields()
    form.feed(page.text)
    return await http.post(DIALOG, data=form.fields | choice | {"decision": decision}, headers=headers)


async def signup(http: httpx.AsyncClient, **choice: str) -> dict[str, str]:
    response = await submit(http, "approve", JSON_ACCEPT, **choice)
    assert response.status_code == 200, response.text
    return response.json()


def exchange_query(code: str, **overrides: str) -> dict[str, str]:
    return {"client_id": APP.client_id, "client_secret": APP.client_secret, "code": code} | overrides


async def install(http: httpx.AsyncClient, **choice: str) -> tuple[str, dict[str, str]]:
    ids = await signup(http, **choice)
    response = await http.get(f"{GRAPH}/oauth/access_token", params=exchange_query(ids["code"]))
    assert response.status_code == 200, response.text
    return response.json()["access_token"], ids


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def graph_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    """Assert Meta's error envelope and return its `error` object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code and isinstance(error["message"], str)
    assert {"message", "type", "code", "fbtrace_id"} <= set(error)
    assert set(error) <= {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}
    assert response.headers["www-authenticate"].startswith('OAuth "Facebook Platform" ')
    return error


def posted_message(page: httpx.Response) -> tuple[dict[str, Any], str]:
    """The message the finish page posts to its opener and the target origin, read as a browser would."""
    scripts = SCRIPT.findall(page.text)
    assert len(scripts) == 1 and page.text.count("<script") == 1
    script = scripts[0]
    match = re.fullmatch(
        rf"\(function\(\)\{{var o=window\.opener;if\(o\)\{{o\.postMessage\(({JS_STRING}),({JS_STRING})\);\}}"
        r"window\.close\(\);\}\)\(\);",
        script,
    )
    assert match, script
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = page.headers["content-security-policy"]
    assert f"script-src 'sha256-{digest}';" in csp and "unsafe-inline' ;" not in csp
    assert csp.startswith("default-src 'none';") and "frame-ancestors 'none'" in csp
    payload = json.loads(match.group(1))
    assert isinstance(payload, str)  # Meta posts a JSON string the listener must JSON.parse
    return json.loads(payload), json.loads(match.group(2))


async def counters(http: httpx.AsyncClient) -> dict[str, Any]:
    return (await http.get(INSPECT)).json()


async def test_dialog_renders_pickers_and_escapes(client: httpx.AsyncClient) -> None:
    hostile = '"><script>alert("x")</script>'
    response = await client.get(DIALOG, params=dialog_query(state=hostile))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.headers["cross-origin-opener-policy"] == "unsafe-none"
    page = response.text
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "connect your business to TMS &lt;Console&gt;" in page
    for element in ('id="business" name="business_id"', 'id="waba" name="waba_id"', 'id="phone"'):
        assert element in page
    assert 'id="approve"' in page and 'id="cancel"' in page
    assert "Globex Corporation" in page and "+44 7700 900123 (Globex Ops Desk)" in page
    assert "whatsapp_business_messaging" in page
    form = FormFields()
    form.feed(page)
    assert form.fields["state"] == hostile and form.fields["config_id"] == CONFIG_ID


async def test_dialog_rejects_bad_requests_with_a_page(client: httpx.AsyncClient) -> None:
    for overrides in (
        {"client_id": "999"},
        {"redirect_uri": REDIRECT + "/"},
        {"redirect_uri": "https://evil.test/cb"},
        {"config_id": "42"},
        {"response_type": "token"},
    ):
        response = await client.get(DIALOG, params=dialog_query(**overrides))
        assert response.status_code == 400 and "location" not in response.headers
        assert "<script" not in response.text
    duplicated = await client.get(f"{DIALOG}?{urlencode(dialog_query())}&state=second")
    assert duplicated.status_code == 400
    forged = dialog_query(redirect_uri="https://evil.test/cb", decision="approve")
    posted = await client.post(DIALOG, data=forged | {"business_id": ACME}, headers=JSON_ACCEPT)
    assert posted.status_code == 400 and "code" not in posted.text


async def test_approve_posts_session_info_and_code_to_the_opener_origin(client: httpx.AsyncClient) -> None:
    before = await counters(client)
    page = await submit(client, "approve", waba_id=ACME_SUPPORT, phone_number_id=BILLING_PHONE)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cross-origin-opener-policy"] == "unsafe-none"
    message, origin = posted_message(page)
    assert origin == "http://console.test"
    data = {"phone_number_id": BILLING_PHONE, "waba_id": ACME_SUPPORT, "business_id": ACME}
    assert message == {
        "type": "WA_EMBEDDED_SIGNUP",
        "event": "FINISH",
        "version": 3,
        "data": data,
        "code": message["code"],
    }
    exchanged = await client.get(f"{GRAPH}/oauth/access_token", params=exchange_query(message["code"]))
    assert exchanged.status_code == 200
    assert (await counters(client))["token_exchanges"] == before["token_exchanges"] + 1


async def test_cancel_posts_the_cancel_event(client: httpx.AsyncClient) -> None:
    page = await submit(client, "cancel")
    message, origin = posted_message(page)
    cancel = {"type": "WA_EMBEDDED_SIGNUP", "event": "CANCEL", "version": 3}
    assert origin == "http://console.test"
    assert message == cancel | {"data": {"current_step": "WABA_PHONE_PROFILE_PICKER"}}
    as_json = await submit(client, "cancel", JSON_ACCEPT)
    assert as_json.json() == message


async def test_finish_script_cannot_break_out_of_its_element() -> None:
    script = finish_script({"x": "</script><img src=x onerror=alert(1)>&\u2028"}, "https://a.test")
    assert not set("<>&\u2028") & set(script)
    assert origin_of("https://console.example:443/cb?x=1") == "https://console.example"
    assert origin_of("http://localhost:3000/api/cb") == "http://localhost:3000"


async def test_picker_choices_must_belong_together(client: httpx.AsyncClient) -> None:
    for choice in (
        {"business_id": GLOBEX, "waba_id": ACME_SUPPORT, "phone_number_id": SUPPORT_PHONE},
        {"business_id": ACME, "waba_id": ACME_SUPPORT, "phone_number_id": MARKETING_PHONE},
        {"business_id": "1", "waba_id": ACME_SUPPORT, "phone_number_id": SUPPORT_PHONE},
    ):
        response = await submit(client, "approve", JSON_ACCEPT, **choice)
        assert response.status_code == 400 and "code" not in response.text
    assert (await submit(client, "maybe")).status_code == 400


async def test_json_approve_and_exchange(client: httpx.AsyncClient) -> None:
    ids = await signup(client, business_id=GLOBEX, waba_id=GLOBEX_OPS, phone_number_id=GLOBEX_PHONE)
    assert set(ids) == {"code", "waba_id", "phone_number_id", "business_id"}
    assert (ids["business_id"], ids["waba_id"], ids["phone_number_id"]) == (GLOBEX, GLOBEX_OPS, GLOBEX_PHONE)
    response = await client.get(f"{GRAPH}/oauth/access_token", params=exchange_query(ids["code"]))
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type"} and body["token_type"] == "bearer"
    assert body["access_token"].startswith("EAAG") and CANARY in body["access_token"]


async def test_code_is_single_use(client: httpx.AsyncClient) -> None:
    before = await counters(client)
    ids = await signup(client)
    url = f"{GRAPH}/oauth/access_token"
    assert (await client.get(url, params=exchange_query(ids["code"]))).status_code == 200
    replay = graph_error(await client.get(url, params=exchange_query(ids["code"])), 400, 100)
    assert replay["error_subcode"] == 36009 and replay["message"] == "This authorization code has been used."
    assert replay["type"] == "OAuthException"
    unknown = graph_error(await client.get(url, params=exchange_query("nope")), 400, 100)
    assert unknown["error_subcode"] == 36007
    assert (await counters(client))["token_exchanges"] == before["token_exchanges"] + 3


async def test_codes_expire(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whatsapp, "QUIRKS", replace(whatsapp.QUIRKS, code_ttl=1.0))  # Meta's is ~10 min
    async for http in make_client(redis_url):
        stale = (await signup(http))["code"]
        await asyncio.sleep(1.2)
        fresh = (await signup(http))["code"]
        url = f"{GRAPH}/oauth/access_token"
        assert (await http.get(url, params=exchange_query(fresh))).status_code == 200
        expired = graph_error(await http.get(url, params=exchange_query(stale)), 400, 100)
        assert expired["error_subcode"] == 36007


async def test_exchange_client_and_parameter_errors(client: httpx.AsyncClient) -> None:
    url = f"{GRAPH}/oauth/access_token"
    code = (await signup(client))["code"]
    for params, code_number, message in (
        ({"client_id": ""}, 101, "Missing client_id parameter."),
        ({"client_id": "999"}, 101, "Error validating application. Invalid application ID."),
        ({"client_secret": ""}, 1, "Missing client_secret parameter."),
        ({"client_secret": "nope"}, 1, "Error validating client secret."),
        ({"code": ""}, 1, "Missing authorization code"),
    ):
        error = graph_error(await client.get(url, params=exchange_query(code) | params), 400, code_number)
        assert error["message"] == message
    # The client errors above left the code unused; an SDK code must be redeemed without redirect_uri.
    mismatch = await client.get(url, params=exchange_query(code, redirect_uri=REDIRECT))
    assert graph_error(mismatch, 400, 100)["error_subcode"] == 36008
    assert graph_error(await client.get(url, params=exchange_query(code)), 400, 100)["error_subcode"] == 36009
    duplicated = await client.get(f"{url}?{urlencode(exchange_query(code))}&code=again")
    graph_error(duplicated, 400, 100)
    bad_version = await client.get("/sandbox/whatsapp/graph/latest/oauth/access_token")
    assert graph_error(bad_version, 400, 2500)["message"].startswith("Unknown path components")


async def test_debug_token_reports_grant_and_targets(client: httpx.AsyncClient) -> None:
    token, ids = await install(client, waba_id=ACME_MARKETING, phone_number_id=MARKETING_PHONE)
    app_token = f"{APP.client_id}|{APP.client_secret}"
    response = await client.get(
        f"{GRAPH}/debug_token", params={"input_token": token, "access_token": app_token}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["app_id"] == APP.client_id and data["is_valid"] is True
    assert data["type"] == "SYSTEM_USER" and data["expires_at"] == 0
    assert isinstance(data["issued_at"], int) and data["application"] == APP.name
    assert set(data["scopes"]) == {
        "whatsapp_business_management",
        "whatsapp_business_messaging",
        "business_management",
    }
    targets = {entry["scope"]: entry["target_ids"] for entry in data["granular_scopes"]}
    assert targets["whatsapp_business_messaging"] == [ACME_MARKETING] == [ids["waba_id"]]
    assert targets["whatsapp_business_management"] == [ACME_MARKETING]
    assert targets["business_management"] == [ACME]
    by_header = await client.get(
        f"{GRAPH}/debug_token", params={"input_token": token}, headers=bearer(app_token)
    )
    assert by_header.json()["data"] == data
    invalid = await client.get(
        f"{GRAPH}/debug_token", params={"input_token": "EAAGnope", "access_token": app_token}
    )
    assert invalid.status_code == 200
    assert invalid.json()["data"] == {
        "error": {"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"},
        "is_valid": False,
        "scopes": [],
    }


async def test_debug_token_needs_the_app_token(client: httpx.AsyncClient) -> None:
    token, _ = await install(client)
    url = f"{GRAPH}/debug_token"
    assert graph_error(await client.get(url, params={"input_token": token}), 401, 104)
    for app_token in (f"{APP.client_id}|nope", f"999|{APP.client_secret}", token):
        response = await client.get(url, params={"input_token": token, "access_token": app_token})
        assert graph_error(response, 401, 190)["type"] == "OAuthException"
    missing = await client.get(url, params={"access_token": f"{APP.client_id}|{APP.client_secret}"})
    graph_error(missing, 400, 100)


async def test_phone_node_fields_and_auth_errors(client: httpx.AsyncClient) -> None:
    token, _ = await install(client)  # Acme Support WABA, first phone
    fields = {"fields": "display_phone_number,verified_name"}
    response = await client.get(f"{GRAPH}/{SUPPORT_PHONE}", params=fields, headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {
        "display_phone_number": "+1 555-010-0001",
        "verified_name": "Acme Support",
        "id": SUPPORT_PHONE,
    }
    sibling = await client.get(f"{GRAPH}/{BILLING_PHONE}", headers=bearer(token))
    assert sibling.status_code == 200 and sibling.json()["code_verification_status"] == "VERIFIED"
    waba = await client.get(f"{GRAPH}/{ACME_SUPPORT}", params={"fields": "name"}, headers=bearer(token))
    assert waba.json() == {"name": "Acme Support", "id": ACME_SUPPORT}
    url = f"{GRAPH}/{SUPPORT_PHONE}"
    nonexisting = await client.get(url, params={"fields": "pin"}, headers=bearer(token))
    assert "nonexisting field (pin)" in graph_error(nonexisting, 400, 100)["message"]
    assert graph_error(await client.get(f"{GRAPH}/{SUPPORT_PHONE}"), 401, 104)
    bad = await client.get(f"{GRAPH}/{SUPPORT_PHONE}", headers=bearer("EAAGnope"))
    assert graph_error(bad, 401, 190)["message"].startswith("Invalid OAuth access token")
    by_query = await client.get(f"{GRAPH}/{SUPPORT_PHONE}", params={"access_token": token})
    assert by_query.status_code == 200


async def test_token_only_reaches_its_own_waba(client: httpx.AsyncClient) -> None:
    token, _ = await install(client)  # Acme Support WABA
    for method, path in (
        ("GET", f"/{MARKETING_PHONE}"),
        ("GET", f"/{GLOBEX_PHONE}"),
        ("GET", f"/{ACME_MARKETING}/phone_numbers"),
        ("POST", f"/{GLOBEX_OPS}/subscribed_apps"),
        ("DELETE", f"/{ACME_MARKETING}/subscribed_apps"),
        ("POST", f"/{MARKETING_PHONE}/messages"),
        ("GET", "/1"),
    ):
        response = await client.request(method, GRAPH + path, headers=bearer(token), json={})
        error = graph_error(response, 400, 100)
        assert error["error_subcode"] == 33 and error["type"] == "GraphMethodException"
        assert error["message"].startswith(f"Unsupported {method.lower()} request. Object with ID")


async def test_phone_numbers_are_paged_with_cursors(client: httpx.AsyncClient) -> None:
    token, _ = await install(client)
    url = f"{GRAPH}/{ACME_SUPPORT}/phone_numbers"
    first = await client.get(url, params={"limit": "1"}, headers=bearer(token))
    assert first.status_code == 200
    body = first.json()
    assert [p["id"] for p in body["data"]] == [SUPPORT_PHONE]
    assert set(body["paging"]["cursors"]) == {"before", "after"}
    next_url = urlsplit(body["paging"]["next"])
    second = await client.get(f"{next_url.path}?{next_url.query}", headers=bearer(token))
    assert [p["id"] for p in second.json()["data"]] == [BILLING_PHONE]
    assert "next" not in second.json()["paging"]
    everything = await client.get(url, params={"fields": "verified_name"}, headers=bearer(token))
    assert everything.json()["data"] == [
        {"verified_name": "Acme Support", "id": SUPPORT_PHONE},
        {"verified_name": "Acme Billing", "id": BILLING_PHONE},
    ]
    for bad in ({"after": "QVFIzz"}, {"after": "garbage"}, {"limit": "0"}, {"limit": "x"}):
        graph_error(await client.get(url, params=bad, headers=bearer(token)), 400, 100)


async def test_subscribe_and_unsubscribe_count_a_revocation(client: httpx.AsyncClient) -> None:
    token, _ = await install(client, business_id=GLOBEX, waba_id=GLOBEX_OPS, phone_number_id=GLOBEX_PHONE)
    url = f"{GRAPH}/{GLOBEX_OPS}/subscribed_apps"
    before = await counters(client)
    assert (await client.get(url, headers=bearer(token))).json() == {"data": []}
    subscribed = await client.post(url, headers=bearer(token))
    assert subscribed.status_code == 200 and subscribed.json() == {"success": True}
    listed = (await client.get(url, headers=bearer(token))).json()["data"]
    assert listed == [{"whatsapp_business_api_data": {"id": APP.client_id, "name": APP.name}}]
    no_verify = await client.post(
        url, json={"override_callback_uri": "https://console.test/hook"}, headers=bearer(token)
    )
    assert "verify_token" in graph_error(no_verify, 400, 100)["message"]
    unsubscribed = await client.delete(url, headers=bearer(token))
    assert unsubscribed.status_code == 200 and unsubscribed.json() == {"success": True}
    assert (await client.get(url, headers=bearer(token))).json() == {"data": []}
    assert (await counters(client))["revocations"] == before["revocations"] + 1
    graph_error(await client.delete(url), 401, 104)
    assert (await counters(client))["revocations"] == before["revocations"] + 1


async def test_register_needs_product_and_a_six_digit_pin(client: httpx.AsyncClient) -> None:
    token, _ = await install(client)
    url = f"{GRAPH}/{SUPPORT_PHONE}/register"
    registration = {"messaging_product": "whatsapp", "pin": "123456"}
    ok = await client.post(url, json=registration, headers=bearer(token))
    assert ok.status_code == 200 and ok.json() == {"success": True}
    for body in ({"pin": "123456"}, {"messaging_product": "whatsapp", "pin": "12345"}):
        graph_error(await client.post(url, json=body, headers=bearer(token)), 400, 100)


async def test_send_message_records_the_delivery(client: httpx.AsyncClient) -> None:
    token, _ = await install(client)
    url = f"{GRAPH}/{SUPPORT_PHONE}/messages"
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+15551234567",
        "type": "text",
        "text": {"preview_url": False, "body": "Your ticket #123 was updated"},
    }
    response = await client.post(url, json=payload, headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"messaging_product", "contacts", "messages"}
    assert body["contacts"] == [{"input": "+15551234567", "wa_id": "15551234567"}]
    assert body["messages"][0]["id"].startswith("wamid.") and set(body["messages"][0]) == {"id"}
    template = {"messaging_product": "whatsapp", "to": "15551234567", "type": "template"}
    params = [{"type": "text", "text": text} for text in ("#123", "Printer on fire", "open")]
    template["template"] = {"name": "ticket_update", "language": {"code": "en_US"}}
    template["template"]["components"] = [{"type": "body", "parameters": params}]
    sent = (await client.post(url, json=template, headers=bearer(token))).json()
    assert sent["messages"][0]["message_status"] == "accepted"
    inspected = await client.get(INSPECT)
    assert {"phone_number_id": SUPPORT_PHONE} | payload in inspected.json()["deliveries"]
    assert CANARY not in inspected.text


async def test_send_message_parameter_errors(client: httpx.AsyncClient) -> None:
    token, _ = await install(client)
    url = f"{GRAPH}/{SUPPORT_PHONE}/messages"
    good = {"messaging_product": "whatsapp", "to": "15551234567", "type": "text", "text": {"body": "hi"}}
    for body, message in (
        ({k: v for k, v in good.items() if k != "messaging_product"}, "messaging_product is required"),
        (good | {"messaging_product": "sms"}, "messaging_product must be one of"),
        ({k: v for k, v in good.items() if k != "to"}, "The parameter to is required."),
        (good | {"to": "not a number"}, "Invalid parameter"),
        (good | {"text": {"body": ""}}, "text['body'] is required"),
        (good | {"text": {"body": "x" * 4097}}, "at most 4096 characters"),
        (good | {"type": "template"}, "The parameter template is required."),
        (good | {"type": "sticker"}, "Invalid parameter"),
    ):
        error = graph_error(await client.post(url, json=body, headers=bearer(token)), 400, 100)
        assert message in error["message"], error
    as_form = await client.post(url, data={"messaging_product": "whatsapp"}, headers=bearer(token))
    graph_error(as_form, 400, 100)
    assert (await client.post(url, json=good, headers=bearer(token))).status_code == 200


async def test_rate_limit_faults_use_graph_codes(client: httpx.AsyncClient) -> None:
    token, _ = await install(client)
    code = (await signup(client))["code"]
    fault_url = "/sandbox/whatsapp/_fault"
    try:
        api_fault = {"mode": "rate_limited", "target": "api"}
        assert (await client.put(fault_url, json=api_fault)).status_code == 200
        url = f"{GRAPH}/{SUPPORT_PHONE}"
        limited = await client.get(url, headers=bearer(token))
        assert limited.status_code == 400 and "retry-after" not in limited.headers
        assert limited.json()["error"]["code"] == 80007
        assert (await client.put(fault_url, json={"mode": "rate_limited"})).status_code == 200
        before = await counters(client)
        throttled = await client.get(f"{GRAPH}/oauth/access_token", params=exchange_query(code))
        assert throttled.status_code == 400 and throttled.json()["error"]["code"] == 4
        assert (await counters(client))["token_exchanges"] == before["token_exchanges"] + 1
        assert (await client.get(url, headers=bearer(token))).status_code == 200
    finally:
        assert (await client.delete(fault_url)).status_code == 204


async def test_unknown_graph_paths_answer_in_graph_shape(client: httpx.AsyncClient) -> None:
    for path in ("/a/b/c", "/1030000000000111/nope"):
        error = graph_error(await client.get(GRAPH + path), 400, 2500)
        assert error["message"].startswith("Unknown path components")
