"""The Audit panel's, the admin audit page's and the notification setting's handlers against the real
console (prod build) through a raw socket.io client.

Another tenant (an agent pointing the page at Acme's project, or an admin naming Acme's project and
integration), an Acme agent on the admin page, or nobody: sees none of Acme's trail and changes no
setting. The owner and Acme's admin see it and can choose (the controls that make the scans able to fail).
test_reflex_handlers.py also sweeps these handlers with hostile arguments.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest

from tests.utils.events import Place, integration_of
from tests.utils.identities import identity, project_id, token_for
from tests.utils.reflex_client import ReflexClient
from tms_console import tms_console  # noqa: F401  (registers every state and handler)
from tms_console.security.identity import issue_token
from tms_console.settings import clear_settings_cache, get_settings
from tms_console.state.admin_audit import AdminAuditState
from tms_console.state.audit import AuditPanelState
from tms_console.state.integrations import IntegrationsState
from tms_console.state.notify import NotifyState

clear_settings_cache()

PROJECT = project_id("Acme", "Billing Desk")
PAGE = {"pathname": f"/projects/{PROJECT}/integrations", "asPath": f"/projects/{PROJECT}/integrations"}
ADMIN_PAGE = {"pathname": "/admin/audit", "asPath": "/admin/audit"}
OVERVIEW = {"pathname": "/admin", "asPath": "/admin"}
PANEL, AUDIT_PAGE, NOTIFY = (s.get_full_name() for s in (AuditPanelState, AdminAuditState, NotifyState))
LOAD = IntegrationsState.get_full_name() + ".load"


def cookie(tenant: str, email: str, role: str = "agent") -> str:
    return "tms_session=" + issue_token(identity(tenant, email, role), get_settings())


@pytest.fixture(scope="module")
def planted(console: dict[str, str], database_url: str) -> Iterator[dict[str, str]]:
    """A webhook on Acme's "Billing Desk" with one audit event whose actor name is a marker."""
    marker = "MARK" + secrets.token_hex(6)
    tenant = identity().tenant_id
    with integration_of(database_url, Place(tenant, PROJECT), "webhook") as (db, integration):
        db.execute(
            "INSERT INTO integration_events (id, tenant_id, project_id, integration_id, integration_type, "
            "action, reason, actor_id, actor_name, ip) VALUES (gen_random_uuid(), %s, %s, %s, 'webhook', "
            "'installed', 'installed', 'u-marker', %s, '198.51.100.9')",
            (tenant, PROJECT, integration, marker),
        )
        yield {"marker": marker, "integration": str(integration)}
        db.execute("DELETE FROM integration_events WHERE actor_name = %s", (marker,))
        db.execute("DELETE FROM tenant_settings WHERE tenant_id = %s", (tenant,))


def setting(db: psycopg.Connection) -> object:
    row = db.execute(
        "SELECT notify_integration_id FROM tenant_settings WHERE tenant_id = %s", (identity().tenant_id,)
    ).fetchone()
    return row[0] if row else None


CALLERS = {
    "gary": ("Globex", "gary@globex.example", "agent"),  # points the page at Acme's project
    "greta": ("Globex", "greta@globex.example", "admin"),  # names Acme's project and integration
    "alice": ("Acme", "alice@acme.example", "agent"),  # of the tenant, but the admin page is not hers
}


@pytest.mark.parametrize("caller", [*CALLERS, "nobody"])
async def test_nobody_else_sees_the_trail_or_changes_the_setting(
    console: dict[str, str], planted: dict[str, str], db: psycopg.Connection, caller: str
) -> None:
    before = setting(db)
    who = cookie(*CALLERS[caller]) if caller in CALLERS else None
    acme_agent = caller == "alice"
    async with ReflexClient(console["url"], cookie=who) as client:
        if not acme_agent:
            await client.call(LOAD, {}, PAGE)
            await client.call(PANEL + ".open_audit", {"integration_type": "webhook"}, PAGE, settle=1)
            await client.call(PANEL + ".more_audit", {}, PAGE, settle=1)
        await client.call(AUDIT_PAGE + ".load", {}, ADMIN_PAGE)
        await client.call(AUDIT_PAGE + ".set_project", {"value": str(PROJECT)}, ADMIN_PAGE)
        await client.call(AUDIT_PAGE + ".set_actor", {"value": "u-marker"}, ADMIN_PAGE)
        await client.call(AUDIT_PAGE + ".load_more", {}, ADMIN_PAGE)
        await client.call(NOTIFY + ".load_notify", {}, OVERVIEW)
        await client.call(NOTIFY + ".choose_notify", {"value": planted["integration"]}, OVERVIEW)
        text = client.text()
        page = ReflexClient.state(client.frames, AUDIT_PAGE)
    assert planted["marker"] not in text and "198.51.100.9" not in text
    assert planted["integration"] not in text
    assert page.get("rows_rx_state_", []) == []
    assert setting(db) == before
    if caller == "nobody":
        assert set(ReflexClient.redirects(client.frames)) == {"/login"}


async def test_the_owner_sees_the_panel_and_the_admin_the_page_and_the_setting(
    console: dict[str, str], planted: dict[str, str], db: psycopg.Connection
) -> None:
    """Control for the test above: the same events with Acme's own sessions show and change things."""
    async with ReflexClient(console["url"], cookie="tms_session=" + token_for()) as alice:
        await alice.call(LOAD, {}, PAGE)
        frames = await alice.call(PANEL + ".open_audit", {"integration_type": "webhook"}, PAGE, settle=1)
        rows = ReflexClient.state(frames, PANEL)["audit_rows_rx_state_"]
        ours = [(r["label"], r["ip"]) for r in rows if r["actor"] == planted["marker"]]
        assert ours == [("Installed", "198.51.100.9")]
    async with ReflexClient(console["url"], cookie=cookie("Acme", "ada@acme.example", "admin")) as ada:
        await ada.call(AUDIT_PAGE + ".load", {}, ADMIN_PAGE)
        frames = await ada.call(AUDIT_PAGE + ".set_actor", {"value": planted["marker"]}, ADMIN_PAGE)
        view = ReflexClient.state(frames, AUDIT_PAGE)
        assert [r["actor"] for r in view["rows_rx_state_"]] == [planted["marker"]]
        assert "actor=" + planted["marker"] in view["export_url_rx_state_"]
        await ada.call(NOTIFY + ".load_notify", {}, OVERVIEW)
        frames = await ada.call(NOTIFY + ".choose_notify", {"value": planted["integration"]}, OVERVIEW)
        assert ReflexClient.state(frames, NOTIFY)["notify_chosen_rx_state_"] == planted["integration"]
        assert str(setting(db)) == planted["integration"]
        await ada.call(NOTIFY + ".choose_notify", {"value": "none"}, OVERVIEW)
    assert setting(db) is None
