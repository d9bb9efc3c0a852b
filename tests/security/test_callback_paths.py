"""Two callback paths of SECURITY.md "OAuth state and callback" that the main file does not walk.

1. A cancel (`error=`) arriving from a browser other than the one that started the flow is refused
   without consuming the state: a third party cannot end an agent's install, nor have a cancel recorded
   as the agent's. The rightful browser still completes the install afterwards.
2. A state minted through REST (Bearer JWT, so bound to no browser) completed by a signed-out browser
   installs for the identity that minted it, into the project it named (docs/security.md, "States
   minted through the REST API").
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

import httpx
import psycopg
import pytest

from devtools.seed import demo_id
from tests.integration.test_install_flow import browser, decide, query_of, row
from tests.security.test_oauth_state import Refusal, approved, with_query
from tests.utils.identities import project_id, token_for
from tms_console.security.session import BINDING_COOKIE
from tms_console.settings import get_settings

ACME, GLOBEX = "Acme", "Globex"
HOSTILE_CANCEL = {"error": "access_denied", "error_description": "cancelled by someone else"}


@pytest.fixture
def refused(live_url: str, db: psycopg.Connection, caplog: pytest.LogCaptureFixture) -> Refusal:
    caplog.set_level(logging.INFO, logger="tms_console")
    return Refusal(live_url, db, caplog)


def forget(db: psycopg.Connection, kind: str, project: object) -> None:
    db.execute(
        "DELETE FROM project_integrations WHERE project_id = %s AND integration_type = %s", (project, kind)
    )


def events(db: psycopg.Connection, project: object) -> list[tuple]:
    return db.execute(
        "SELECT action, reason, actor_name FROM integration_events WHERE project_id = %s ORDER BY created_at",
        (project,),
    ).fetchall()


@pytest.mark.parametrize("other_binding", [None, "forged"], ids=["no-binding-cookie", "another-binding"])
def test_a_cancel_from_another_browser_does_not_burn_the_state(
    live_url: str, db: psycopg.Connection, refused: Refusal, other_binding: str | None
) -> None:
    project = project_id(ACME, "Onboarding")
    forget(db, "discord", project)
    audit_before = events(db, project)
    with browser(live_url) as rightful:
        callback = approved(rightful, "discord", project)
        cancel = with_query(callback, urlencode({**HOSTILE_CANCEL, "state": query_of(callback)["state"]}))
        with httpx.Client(follow_redirects=False, timeout=20) as other:
            if other_binding:
                other.cookies.set(BINDING_COOKIE, secrets.token_urlsafe(32), domain="127.0.0.1")
            refused.snapshot()
            answer = other.get(cancel)
            refused(answer, "invalid_browser")
        assert HOSTILE_CANCEL["error_description"] not in answer.text
        assert events(db, project) == audit_before, "the foreign cancel was recorded as the agent's"
        done = rightful.get(callback)  # the agent's own browser finishes the install it started
    assert query_of(done.headers["location"]) == {"status": "success", "integration": "discord"}
    assert row(db, "discord", project) is not None
    forget(db, "discord", project)


def test_a_rest_minted_state_completed_by_a_signed_out_browser_installs_for_its_minter(
    live_url: str, db: psycopg.Connection
) -> None:
    project = project_id(GLOBEX, "VIP Care")
    forget(db, "discord", project)
    token = token_for(GLOBEX, "gary@globex.example")
    path = f"/v1/tenants/{demo_id(GLOBEX)}/projects/{project}/integrations/discord/install"
    with httpx.Client(base_url=live_url, headers={"Authorization": f"Bearer {token}"}) as api:
        answer = api.get(path)
    assert answer.status_code == 200, answer.text
    with httpx.Client(follow_redirects=False, timeout=20) as signed_out:
        consent = signed_out.get(answer.json()["url"])
        callback = decide(signed_out, consent, "approve")
        assert not signed_out.cookies, "a signed-out browser holds no session or binding cookie"
        done = signed_out.get(callback)
        replay = signed_out.get(callback)
    expected = f"/projects/{project}/integrations?status=success&integration=discord"
    assert done.status_code == 303 and done.headers["location"] == get_settings().public_base_url + expected
    assert replay.status_code == 400 and "data-reason='state_reused'" in replay.text
    found = row(db, "discord", project)
    assert found is not None and found[3] == "Gary", "installed for the identity that minted the state"
    assert ("installed", "installed", "Gary") in events(db, project)
    forget(db, "discord", project)
