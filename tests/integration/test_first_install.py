"""A first install is one statement (row, sealed credentials, audit event); a reinstall takes the general
path over the same row. Over real Postgres, through `credentials.save_installation` as the callback calls it.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.utils.events import new_place
from tests.utils.health import run_service
from tms_console.domain.values import Installation
from tms_console.persistence import repository
from tms_console.services import credentials, install
from tms_console.services.unit_of_work import unit_of_work


def slack_install(token: str) -> Installation:
    return Installation(
        meta={"team_id": "T0FIRST", "team_name": "First Team", "channel_id": "C0FIRST"},
        secrets={"access_token": token},
    )


def events(db: psycopg.Connection, project: uuid.UUID) -> list[tuple[object, ...]]:
    return db.execute(
        "SELECT action, reason, integration_id, integration_type, actor_id, actor_name, ip, user_agent, "
        "tenant_id, from_status, to_status, created_at > now() - interval '1 minute' FROM integration_events "
        "WHERE project_id = %s ORDER BY created_at",
        (project,),
    ).fetchall()


async def opened(tenant: uuid.UUID, project: uuid.UUID) -> dict[str, object]:
    async with unit_of_work() as session:
        found = await repository.get_integration(
            session, tenant_id=tenant, project_id=project, integration_type="slack"
        )
    assert found is not None and found[1] is not None
    return credentials.open_bundle(found[0], found[1])


def test_first_install_writes_row_credentials_and_one_audit_event_then_reinstall_reuses_the_row(
    live_url: str, db: psycopg.Connection
) -> None:
    place = new_place(db)
    actor = credentials.Actor(str(place.tenant_id), str(place.project_id), "u-1", "Ada", "203.0.113.7", "ua")
    assert events(db, place.project_id) == []

    row_id = run_service(lambda: credentials.save_installation(actor, "slack", slack_install("xoxb-first")))

    row = db.execute(
        "SELECT id, status, status_reason, meta, installed_by_name FROM project_integrations "
        "WHERE tenant_id = %s AND project_id = %s AND integration_type = 'slack'",
        (place.tenant_id, place.project_id),
    ).fetchall()
    assert [(r[0], r[1], r[2], r[3]["team_id"], r[4]) for r in row] == [
        (row_id, "active", None, "T0FIRST", "Ada")
    ]
    assert events(db, place.project_id) == [
        (
            "installed",
            "installed",
            row_id,
            "slack",
            "u-1",
            "Ada",
            "203.0.113.7",
            "ua",
            place.tenant_id,
            None,
            None,
            True,
        )
    ]
    # Sealed for this row (AAD = tenant, project, type, row id): it opens with the row it is stored on.
    assert run_service(lambda: opened(place.tenant_id, place.project_id)) == {"access_token": "xoxb-first"}

    again = run_service(lambda: credentials.save_installation(actor, "slack", slack_install("xoxb-second")))

    assert again == row_id  # the general path: same row, same account, a reconnect
    count = db.execute(
        "SELECT count(*) FROM project_integrations WHERE project_id = %s", (place.project_id,)
    ).fetchone()
    assert count == (1,)
    assert [e[0] for e in events(db, place.project_id)] == ["installed", "reconnected"]
    assert run_service(lambda: opened(place.tenant_id, place.project_id)) == {"access_token": "xoxb-second"}


def test_install_details_read_only_the_named_row_of_the_named_tenant(
    live_url: str, db: psycopg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker's `install_details` job: a row that is gone, or ids naming another tenant's project, end
    it quietly (nothing fetched or written); the row's own ids fetch its details (the control)."""
    place, other = new_place(db), new_place(db)
    actor = credentials.Actor(str(place.tenant_id), str(place.project_id), "u-1", "Ada")
    discord = Installation(
        meta={"guild_id": "81384788765712384", "channel_id": "81384788765712385", "webhook_id": "1"},
        secrets={"access_token": "not-a-real-token"},
    )
    row_id = run_service(lambda: credentials.save_installation(actor, "discord", discord))
    meta = "SELECT meta FROM project_integrations WHERE id = %s"
    before = db.execute(meta, (row_id,)).fetchone()
    with caplog.at_level("INFO", logger="tms_console.install"):
        for tenant, project, row in [
            (place.tenant_id, place.project_id, uuid.uuid4()),  # gone
            (other.tenant_id, other.project_id, row_id),  # another tenant's ids
            (other.tenant_id, place.project_id, row_id),
        ]:
            assert run_service(lambda t=tenant, p=project, r=row: install.add_details(t, p, r)) is None
        assert "install_details" not in caplog.text
        assert db.execute(meta, (row_id,)).fetchone() == before
        run_service(lambda: install.add_details(place.tenant_id, place.project_id, row_id))
    assert "install_details type=discord" in caplog.text
