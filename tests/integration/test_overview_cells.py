"""The overview's account and channel (picked by Postgres from the page's rows) are what the console's
own helpers pick from the same meta: the first non-empty of the same fields, in the same order."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tests.integration.test_delivery_health import api
from tests.utils.events import new_place
from tms_console.services import credentials, installations

METAS: list[tuple[str, dict[str, Any]]] = [
    ("discord", {"guild_id": "81", "guild_name": "Night Owls HQ", "channel_name": "support-tickets"}),
    ("slack", {"team_name": "", "account_name": "Acme bot", "channel": "", "channel_name": "#tickets"}),
    ("msteams", {"account_name": "Ops", "target_id": "t-1", "target_name": "Ops room", "channel": "#x"}),
    ("telegram", {"account_name": "", "channel_id": "-100200"}),  # nothing to name the account by
    ("whatsapp", {"account_name": "WABA 1", "target_name": "", "channel_id": "+1555"}),
    ("webhook", {"host": "hooks.example.com"}),
]


def test_account_and_channel_are_the_helpers_picks(live_url: str, db: psycopg.Connection) -> None:
    place = new_place(db)
    for kind, meta in METAS:
        db.execute(
            "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta, status) "
            "VALUES (%s, %s, %s, %s, %s, 'active')",
            (uuid.uuid4(), place.tenant_id, place.project_id, kind, Jsonb(meta)),
        )
    (project,) = api(live_url, place, "/integrations/overview")["projects"]
    for kind, meta in METAS:
        shown = project["integrations"][kind]
        assert shown["account"] == credentials.account_name(meta), kind
        assert shown["channel"] == installations.first_of(meta, installations.CHANNEL_FIELDS), kind
    assert project["integrations"]["discord"]["account"] == "Night Owls HQ"
    assert project["integrations"]["slack"]["account"] == "Acme bot"  # the empty team name is skipped
    assert project["integrations"]["msteams"]["channel"] == "Ops room"
    assert project["integrations"]["telegram"]["account"] == ""
    # A target picked or not: msteams has one (connected), whatsapp has none (needs setup).
    assert project["integrations"]["msteams"]["state"] == "active"
    assert project["integrations"]["whatsapp"]["state"] == "needs_setup"


def test_times_are_written_as_the_console_stamps_them(live_url: str, db: psycopg.Connection) -> None:
    """Postgres writes the page's times (`overview_queries.STAMP`): the same text as `installations.stamp`
    gives for the same moments, whatever the time zone they were written in; "" for none."""
    place = new_place(db)
    changed = datetime(2026, 3, 4, 5, 6, 59, tzinfo=timezone(timedelta(hours=2)))
    since = datetime(2026, 12, 31, 23, 59, 1, tzinfo=timezone(timedelta(hours=-5)))
    failing, fine = uuid.uuid4(), uuid.uuid4()
    for row_id, kind in ((failing, "discord"), (fine, "slack")):
        db.execute(
            "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta, status, "
            "created_at, updated_at) VALUES (%s, %s, %s, %s, '{}', 'active', %s, %s)",
            (row_id, place.tenant_id, place.project_id, kind, changed, changed),
        )
    db.execute(
        "INSERT INTO delivery_health (integration_id, tenant_id, project_id, integration_type, last_status, "
        "failing, failing_since) VALUES (%s, %s, %s, 'discord', 'retrying', true, %s)",
        (failing, place.tenant_id, place.project_id, since),
    )
    (project,) = api(live_url, place, "/integrations/overview")["projects"]
    assert project["last_change"] == installations.stamp(changed) == "2026-03-04 03:06 UTC"
    discord, slack = project["integrations"]["discord"], project["integrations"]["slack"]
    assert discord["updated_at"] == installations.stamp(changed)
    assert (discord["failing"], discord["failing_since"]) == (True, installations.stamp(since))
    assert installations.stamp(since) == "2027-01-01 04:59 UTC"
    assert (slack["failing"], slack["failing_since"]) == (False, "")
    assert project["integrations"]["telegram"]["updated_at"] == ""  # not connected: no time


def test_the_failing_filter_counts_every_match_on_every_page(live_url: str, db: psycopg.Connection) -> None:
    """The failing filter's count comes with its page (a window count): the same on every page, past the
    last one too, and only the failing projects of this tenant."""
    place = new_place(db)
    projects = [place.project_id, uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
    for number, project in enumerate(projects):
        if number:
            db.execute(
                "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, %s)",
                (project, place.tenant_id, f"Failing {number}"),
            )
        row_id = uuid.uuid4()
        db.execute(
            "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta, status) "
            "VALUES (%s, %s, %s, 'discord', '{}', 'active')",
            (row_id, place.tenant_id, project),
        )
        db.execute(
            "INSERT INTO delivery_health (integration_id, tenant_id, project_id, integration_type, "
            "last_status, failing, failing_since) VALUES (%s, %s, %s, 'discord', %s, %s, now())",
            (row_id, place.tenant_id, project, "retrying" if number < 3 else "delivered", number < 3),
        )
    other = new_place(db)  # another tenant's failing project is never counted
    theirs = uuid.uuid4()
    db.execute(
        "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta, status) "
        "VALUES (%s, %s, %s, 'discord', '{}', 'active')",
        (theirs, other.tenant_id, other.project_id),
    )
    db.execute(
        "INSERT INTO delivery_health (integration_id, tenant_id, project_id, integration_type, last_status, "
        "failing) VALUES (%s, %s, %s, 'discord', 'retrying', true)",
        (theirs, other.tenant_id, other.project_id),
    )
    shown = []
    for page in (1, 2, 3, 4):
        body = api(live_url, place, "/integrations/overview", failing="true", page_size=1, page=page)
        assert body["matching"] == 3, page
        shown += [p["id"] for p in body["projects"]]
    assert sorted(shown) == sorted(str(p) for p in projects[:3])
    assert api(live_url, place, "/integrations/overview", failing="true", provider="slack")["matching"] == 0
