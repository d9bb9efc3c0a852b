"""Teams and Google access tokens last an hour: a delivery refreshes an expired one before sending.

Without the refresh, every delivery after the first hour would be refused by the provider (401) and
mark the integration "needs reconnect". The install, the intake, the worker (a real process), the refresh
and the Graph post are all real, against the Teams sandbox on its own origin.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from sandbox.msteams_fixtures import CONTOSO
from tests.integration.test_install_flow import browser, query_of, row
from tests.integration.test_oauth_providers import (
    ACME,
    approve,
    base,
    card,
    ciphertext,
    consent,
    expire_access_token,
)
from tests.utils.artifacts import ARTIFACTS
from tests.utils.deliveries import SETTLED, running_worker, wait_for
from tests.utils.events import events_path, service_token, ticket_event
from tests.utils.identities import project_id

PROJECT = project_id(ACME, "Onboarding")


@pytest.fixture
def ada(live_url: str, db) -> Iterator[httpx.Client]:
    with browser(live_url, ACME, "ada@acme.example") as client:
        yield client
        if row(db, "msteams", PROJECT) is not None:  # leave the demo project as other tests expect it
            assert client.delete(f"{base(PROJECT)}/msteams").status_code == 204


def install_teams_with_a_channel(ada: httpx.Client, db, project: uuid.UUID) -> uuid.UUID:
    if row(db, "msteams", project) is not None:
        assert ada.delete(f"{base(project)}/msteams").status_code == 204
    done = approve(ada, consent(ada, "msteams", project), tenant_id=CONTOSO.id)
    assert query_of(done.headers["location"])["status"] == "success"
    target = ada.get(f"{base(project)}/msteams/targets").json()["targets"][0]
    assert ada.put(f"{base(project)}/msteams/target", json={"target_id": target["id"]}).status_code == 200
    assert card(ada, project, "msteams")["status"] == "connected"
    return row(db, "msteams", project)[0]


def test_an_expired_teams_token_is_refreshed_before_the_delivery_is_sent(
    ada: httpx.Client, db, live_url: str
) -> None:
    project = PROJECT
    integration_id = install_teams_with_a_channel(ada, db, project)
    before = expire_access_token(db, "msteams", project)

    tenant = db.execute("SELECT tenant_id FROM projects WHERE id = %s", (project,)).fetchone()[0]
    event = ticket_event("ticket.created", ticket_id="T-" + uuid.uuid4().hex[:8])
    answer = httpx.post(
        live_url + events_path(tenant, project),
        json=event,
        headers={"Authorization": f"Bearer {service_token(tenant)}"},
    )
    assert answer.status_code == 202, answer.text
    [(delivery_id,)] = db.execute(
        "SELECT d.id FROM deliveries d JOIN ticket_events e ON e.id = d.ticket_event_id "
        "WHERE e.event_id = %s AND d.integration_id = %s",
        (event["id"], integration_id),
    ).fetchall()

    with running_worker(ARTIFACTS / "delivery-refresh-worker.log"):
        wait_for(
            db,
            "SELECT status FROM deliveries WHERE id = %s",
            (delivery_id,),
            lambda r: r and r[0][0] in SETTLED,
        )
    assert ciphertext(db, "msteams", project) != before  # refreshed and stored
    status, attempts = db.execute(
        "SELECT status, attempts FROM deliveries WHERE id = %s", (delivery_id,)
    ).fetchone()
    assert (status, attempts) == ("delivered", 1)
    assert card(ada, project, "msteams")["status"] == "connected"
