"""/admin's load through a raw socket.io client against the real console: the rows a first screen shows
go out on their own (the browser's first render is the page's cost to its first cell), the rest of the
page follows, and the notification setting's options come only after every row. Another tenant's
projects never appear in any of these frames."""

from __future__ import annotations

import uuid

import psycopg

from tests.utils.events import add_integration, new_place
from tests.utils.reflex_client import ReflexClient
from tms_console import tms_console  # noqa: F401  (registers every state and handler)
from tms_console.security.identity import Identity, issue_token
from tms_console.settings import clear_settings_cache, get_settings
from tms_console.state.admin import FIRST_ROWS, PAGE_SIZE, AdminState
from tms_console.state.notify import NotifyState

clear_settings_cache()

OVERVIEW = {"pathname": "/admin", "asPath": "/admin"}
ADMIN, NOTIFY = AdminState.get_full_name(), NotifyState.get_full_name()


async def test_first_screen_of_rows_then_the_rest_then_the_notify_options(
    console: dict[str, str], db: psycopg.Connection
) -> None:
    place, other = new_place(db), new_place(db)  # one project each ("Intake")
    for i in range(FIRST_ROWS + 3):
        db.execute(
            "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, %s)",
            (uuid.uuid4(), place.tenant_id, f"Project {i:02d}"),
        )
    add_integration(db, place, "webhook")  # something the notification setting can offer
    db.execute("UPDATE projects SET name = 'Theirs only' WHERE id = %s", (other.project_id,))
    projects = FIRST_ROWS + 4
    assert projects <= PAGE_SIZE
    admin = Identity("u-first-rows", "First Rows", place.tenant_id, "admin")
    async with ReflexClient(
        console["url"], cookie="tms_session=" + issue_token(admin, get_settings())
    ) as ada:
        frames = await ada.call(ADMIN + ".load", {}, OVERVIEW, settle=1)
    deltas = [
        data["delta"]
        for name, data in frames
        if name == "event" and isinstance(data, dict) and data.get("delta")
    ]
    rows = [
        (i, d[ADMIN]["rows_rx_state_"]) for i, d in enumerate(deltas) if "rows_rx_state_" in d.get(ADMIN, {})
    ]
    assert [len(shown) for _, shown in rows[:2]] == [FIRST_ROWS, projects]
    # The same first rows, then all of them.
    assert [r["name"] for r in rows[1][1][:FIRST_ROWS]] == [r["name"] for r in rows[0][1]]
    options = [i for i, d in enumerate(deltas) if d.get(NOTIFY, {}).get("notify_options_rx_state_")]
    assert options and options[0] > rows[1][0]
    assert "Theirs only" not in ReflexClient(console["url"]).text(frames)
