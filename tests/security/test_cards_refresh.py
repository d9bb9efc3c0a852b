"""The integrations page's cards follow changes made elsewhere when the open tab asks: its timer sends
`CardsState.refresh` every WATCH_SECONDS (pages/integrations.py). Nothing runs on the server for an idle
tab between two rounds (issue 12: memory per open tab), and a refresh shows only the caller's project.

Runs against the real console through a raw socket.io client, which has no timer: it sends the refresh
itself, so the test sees what the server does without it.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg

from tests.utils.identities import project_id, token_for
from tests.utils.reflex_client import ReflexClient
from tms_console import tms_console  # noqa: F401 - registers every state and handler (in this context)
from tms_console.settings import clear_settings_cache
from tms_console.state.integrations import WATCH_SECONDS, CardsState, IntegrationsState

clear_settings_cache()  # the app read the settings before the fixtures set the test database

PROJECT = project_id("Acme", "Billing Desk")
PAGE = f"/projects/{PROJECT}/integrations"
ROUTE = {"pathname": PAGE, "asPath": PAGE}
CARDS = CardsState.get_full_name()


def slack_card(frames: list[tuple[str, Any]]) -> dict[str, Any]:
    cards = ReflexClient.state(frames, CARDS).get("cards_rx_state_") or []
    return next(card for card in cards if card["key"] == "slack")


def plant_row(db: psycopg.Connection) -> uuid.UUID:
    """A Slack row written by another process (no credentials: its card reads Needs reconnect)."""
    row = uuid.uuid4()
    db.execute(
        "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta, status) "
        "SELECT %s, tenant_id, id, 'slack', '{}', 'active' FROM projects WHERE id = %s",
        (row, PROJECT),
    )
    db.commit()
    return row


async def test_a_refresh_shows_a_change_made_elsewhere_and_an_idle_tab_gets_nothing(
    console: dict[str, str], db: psycopg.Connection
) -> None:
    cookie = "tms_session=" + token_for()
    async with ReflexClient(console["url"], cookie=cookie) as alice:
        await alice.call(IntegrationsState.get_full_name() + ".load", {}, ROUTE)
        assert slack_card(alice.frames)["status"] == "not_connected"
        row = plant_row(db)
        try:
            idle = len(alice.frames)
            await asyncio.sleep(WATCH_SECONDS + 2)
            assert alice.frames[idle:] == []  # no loop on the server kept the tab (or pushed the change)

            await alice.call(CARDS + ".refresh", {}, ROUTE, settle=1.0)
            assert slack_card(alice.frames)["status"] == "needs_reconnect"
        finally:
            db.execute("DELETE FROM project_integrations WHERE id = %s", (row,))
            db.commit()


async def test_a_refresh_from_another_tenant_shows_nothing_of_the_project(
    console: dict[str, str], db: psycopg.Connection
) -> None:
    """Gary's tab, its state pointed at Acme's project page: the refresh re-checks the session."""
    row = plant_row(db)
    try:
        async with ReflexClient(
            console["url"], cookie="tms_session=" + token_for("Globex", "gary@globex.example")
        ) as gary:
            await gary.call(IntegrationsState.get_full_name() + ".load", {}, ROUTE)
            frames = await gary.call(CARDS + ".refresh", {}, ROUTE, settle=1.0)
            assert (ReflexClient.state(gary.frames, CARDS).get("cards_rx_state_") or []) == []
            assert "Billing Desk" not in gary.text(frames)
    finally:
        db.execute("DELETE FROM project_integrations WHERE id = %s", (row,))
        db.commit()
