"""Microsoft Teams and Google Chat end to end over real HTTP against their sandboxes: PKCE install,
the connected account, picking a channel or space, refresh-token handling, admin consent, uninstall."""

from __future__ import annotations

import httpx
import pytest

from devtools.seed import demo_id
from sandbox.msteams_fixtures import CONTOSO, FABRIKAM
from tests.integration.test_install_flow import browser, decide, inspect, query_of, row
from tests.utils.forms import click
from tests.utils.identities import project_id

ACME = "Acme"


def base(project: object) -> str:
    return f"/v1/tenants/{demo_id(ACME)}/projects/{project}/integrations"


def card(client: httpx.Client, project: object, kind: str) -> dict:
    listing = client.get(base(project)).json()["integrations"]
    return next(item for item in listing if item["type"] == kind)


def consent(client: httpx.Client, kind: str, project: object, route: str = "install") -> httpx.Response:
    started = client.get(f"/api/console/integrations/{kind}/{route}", params={"project_id": str(project)})
    assert started.status_code == 303, started.text
    page = client.get(started.headers["location"])
    assert page.status_code == 200, page.text[:300]
    return page


def approve(client: httpx.Client, page: httpx.Response, **choices: str) -> httpx.Response:
    method, action, data = click(page.text, str(page.url), "approve", **choices)
    answer = client.request(method, action, data=data)
    assert answer.status_code in (302, 303), answer.text[:300]
    return client.get(answer.headers["location"])


def expire_access_token(db, kind: str, project: object) -> bytes:
    integration_id = row(db, kind, project)[0]
    db.execute(
        "UPDATE integration_credentials SET expires_at = now() - interval '1 hour' WHERE integration_id = %s",
        (integration_id,),
    )
    return ciphertext(db, kind, project)


def ciphertext(db, kind: str, project: object) -> bytes:
    integration_id = row(db, kind, project)[0]
    return bytes(
        db.execute(
            "SELECT ciphertext FROM integration_credentials WHERE integration_id = %s", (integration_id,)
        ).fetchone()[0]
    )


@pytest.fixture
def ada(live_url):
    with browser(live_url, ACME, "ada@acme.example") as client:
        yield client


def test_teams_install_pick_channel_and_rotate_refresh_tokens(ada, db) -> None:
    project = project_id(ACME, "Customer Support")
    page = consent(ada, "msteams", project)
    assert "code_challenge=" in str(page.url) and "code_challenge_method=S256" in str(page.url)
    done = approve(ada, page, tenant_id=CONTOSO.id)
    assert query_of(done.headers["location"])["status"] == "success"
    shown = card(ada, project, "msteams")
    assert shown["status"] == "needs_setup" and shown["account"] == "Megan Bowen"
    assert row(db, "msteams", project)[1]["tenant_id"] == CONTOSO.id

    targets = ada.get(f"{base(project)}/msteams/targets").json()["targets"]
    groups = {t["group"] for t in targets}
    assert groups == {"Customer Support", "Operations"} and len(targets) == 9  # two pages for one team
    pick = next(t for t in targets if t["group"] == "Operations")
    assert ada.put(f"{base(project)}/msteams/target", json={"target_id": pick["id"]}).status_code == 200
    shown = card(ada, project, "msteams")
    assert shown["status"] == "connected" and shown["channel"] == "#" + pick["name"]

    # Expired access token: the console refreshes and stores the rotated refresh token; the sandbox
    # accepts each refresh token once, so a second refresh proves the new one was kept.
    for _ in range(2):
        before = expire_access_token(db, "msteams", project)
        assert ada.get(f"{base(project)}/msteams/targets").status_code == 200
        assert ciphertext(db, "msteams", project) != before

    assert ada.delete(f"{base(project)}/msteams").status_code == 204
    assert row(db, "msteams", project) is None


def test_teams_admin_consent_required_then_granted(ada, db) -> None:
    project = project_id(ACME, "Onboarding")
    done = approve(ada, consent(ada, "msteams", project), tenant_id=FABRIKAM.id)
    outcome = query_of(done.headers["location"])
    assert outcome["status"] == "error" and outcome["reason"] == "admin_consent_required"
    assert row(db, "msteams", project) is None

    granted = approve(ada, consent(ada, "msteams", project, route="admin-consent"), tenant_id=FABRIKAM.id)
    outcome = query_of(granted.headers["location"])
    assert outcome["status"] == "info" and outcome["reason"] == "admin_consent_granted"
    events = db.execute(
        "SELECT action FROM integration_events WHERE project_id = %s AND integration_type = 'msteams' "
        "ORDER BY created_at DESC LIMIT 1",
        (project,),
    ).fetchone()
    assert events == ("admin_consent_granted",)

    done = approve(ada, consent(ada, "msteams", project), tenant_id=FABRIKAM.id)
    assert query_of(done.headers["location"])["status"] == "success"
    assert row(db, "msteams", project)[1]["tenant_id"] == FABRIKAM.id
    ada.delete(f"{base(project)}/msteams")


def test_google_chat_install_pick_space_refresh_and_revoke(ada, db) -> None:
    project = project_id(ACME, "Billing Desk")
    page = consent(ada, "google_chat", project)
    assert "access_type=offline" in str(page.url) and "code_challenge_method=S256" in str(page.url)
    done = approve(ada, page)
    assert query_of(done.headers["location"])["status"] == "success"
    shown = card(ada, project, "google_chat")
    assert shown["status"] == "needs_setup" and shown["account"] == "ada@acme-support.example"

    targets = ada.get(f"{base(project)}/google_chat/targets").json()["targets"]
    names = {t["id"] for t in targets}
    assert "spaces/AAQAsupport" in names and "spaces/AAQAroom100" in names  # beyond the first page
    assert "spaces/AAQAgrpchat" not in names  # group chats and DMs are not notification targets
    chosen = ada.put(f"{base(project)}/google_chat/target", json={"target_id": "spaces/AAQAsupport"})
    assert chosen.status_code == 200
    assert card(ada, project, "google_chat")["channel"] == "#Support"

    # Google's refresh answer has no refresh token: the old one must be kept and keep working.
    for _ in range(2):
        expire_access_token(db, "google_chat", project)
        assert ada.get(f"{base(project)}/google_chat/targets").status_code == 200

    revocations = inspect(ada, "google_chat")["revocations"]
    assert ada.delete(f"{base(project)}/google_chat").status_code == 204
    assert inspect(ada, "google_chat")["revocations"] == revocations + 1


def test_google_chat_cancel_is_friendly(ada, db) -> None:
    project = project_id(ACME, "Onboarding")
    callback = decide(ada, consent(ada, "google_chat", project), "cancel")
    done = ada.get(callback)
    assert query_of(done.headers["location"])["reason"] == "access_denied"
    assert row(db, "google_chat", project) is None
