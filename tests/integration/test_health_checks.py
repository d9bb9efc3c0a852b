"""Health checks of real installs (every provider connected through the console to its sandbox): what a
check records and every status change it makes, run as a worker runs it, and a real scheduled check run by
the worker process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

from tests.integration.test_hostile_delivery import PROVIDERS, Installed, agent_client, install_everything
from tests.utils.artifacts import ARTIFACTS
from tests.utils.deliveries import running_worker, wait_for
from tests.utils.events import new_place
from tests.utils.health import (
    bundle_of,
    expire_in,
    fault,
    health_of,
    run_service,
    sandbox_counter,
    status_of,
)
from tests.utils.live import sandbox_origin
from tms_console.domain.messages import Outcome
from tms_console.services import health_checks

# What each provider's answer to a dead credential (the sandbox's `auth_error`) makes of the integration.
REFUSED = {
    "slack": "invalid_auth",
    "discord": "webhook_deleted",
    "msteams": "access_revoked",
    "google_chat": "access_revoked",
    "telegram": "bot_removed",
    "whatsapp": "access_revoked",
}


@pytest.fixture(scope="module")
def installed(live_url: str, database_url: str) -> Iterator[Installed]:
    """A project of its own with all seven integrations connected; deleted at the end."""
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as db:
        place = new_place(db)
        with agent_client(live_url, place) as client:
            yield install_everything(client, live_url, place, db)
        db.execute("DELETE FROM project_integrations WHERE project_id = %s", (place.project_id,))


@pytest.fixture
def fresh(installed: Installed, db: psycopg.Connection) -> Installed:
    """The module's integrations as installed: active, never checked, no job of theirs queued."""
    ids = list(installed.integrations.values())
    db.execute(
        "UPDATE project_integrations SET status = 'active', status_reason = NULL WHERE id = ANY(%s)", (ids,)
    )
    db.execute("DELETE FROM integration_health WHERE integration_id = ANY(%s)", (ids,))
    db.execute("DELETE FROM delivery_health WHERE integration_id = ANY(%s)", (ids,))
    db.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'health' AND status = 'todo'")
    return installed


def check(integration_id: uuid.UUID) -> Any:
    return run_service(lambda: health_checks.check(integration_id))


def status_changes(db: psycopg.Connection, integration_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT action, reason, actor_id FROM integration_events "
        "WHERE integration_id = %s AND action = 'status_changed' ORDER BY created_at",
        (integration_id,),
    ).fetchall()


def test_every_provider_passes_its_check_and_it_is_recorded(fresh: Installed, db: psycopg.Connection) -> None:
    for provider in PROVIDERS:
        integration = fresh.integrations[provider]
        result = check(integration)
        assert result is not None and result.outcome is Outcome.DELIVERED, (provider, result)
        health = health_of(db, integration)
        assert health["last_checked_at"] is not None and health["check_failures"] == 0, provider
        assert status_of(db, integration) == ("active", None)
    assert check(fresh.integrations["webhook"]) is None  # its deliveries are its health
    assert health_of(db, fresh.integrations["webhook"]) == {}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refused_check_needs_a_reconnect_at_once(
    fresh: Installed, db: psycopg.Connection, provider: str
) -> None:
    integration = fresh.integrations[provider]
    with fault(provider, mode="auth_error", target="api"):
        result = check(integration)
    assert result is not None and result.outcome is Outcome.AUTH_FAILED
    assert status_of(db, integration) == ("needs_reconnect", REFUSED[provider])
    assert status_changes(db, integration)[-1] == ("status_changed", REFUSED[provider], "health-check")
    # It waits for the agent's reconnect: no longer checked, so nothing a check sees clears it.
    assert check(integration) is None
    assert status_of(db, integration) == ("needs_reconnect", REFUSED[provider])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_failing_checks_degrade_and_a_passing_one_recovers(
    fresh: Installed, db: psycopg.Connection, provider: str
) -> None:
    integration = fresh.integrations[provider]
    with fault(provider, mode="status", status=503, target="api"):
        for failures in (1, 2):
            assert check(integration).outcome is Outcome.RETRY
            assert health_of(db, integration)["check_failures"] == failures
            assert status_of(db, integration) == ("active", None)  # one outage is no news
        assert check(integration).outcome is Outcome.RETRY
    assert status_of(db, integration) == ("degraded", "check_failing")
    assert health_of(db, integration)["last_check_reason"] == "provider_unavailable"

    assert check(integration).outcome is Outcome.DELIVERED
    assert status_of(db, integration) == ("active", None)
    assert health_of(db, integration)["check_failures"] == 0
    reasons = [reason for _, reason, _ in status_changes(db, integration)]
    assert reasons[-2:] == ["check_failing", "recovered"]


def test_a_passing_check_leaves_a_degraded_status_deliveries_set(
    fresh: Installed, db: psycopg.Connection
) -> None:
    integration = fresh.integrations["slack"]
    db.execute(
        "UPDATE project_integrations SET status = 'degraded', status_reason = 'msg_too_long' WHERE id = %s",
        (integration,),
    )
    assert check(integration).outcome is Outcome.DELIVERED
    assert status_of(db, integration) == ("degraded", "msg_too_long")


def test_an_answer_about_credentials_replaced_meanwhile_changes_nothing(
    fresh: Installed, db: psycopg.Connection
) -> None:
    """The agent reconnected while the provider was being asked about the old token."""
    integration = fresh.integrations["slack"]
    now = datetime.now(UTC)
    with fault("slack", mode="auth_error", target="api"):
        probed = run_service(lambda: health_checks._probe(integration, now))
    assert probed is not None and probed[0].outcome is Outcome.AUTH_FAILED
    db.execute(
        "UPDATE integration_credentials SET updated_at = now() WHERE integration_id = %s", (integration,)
    )
    run_service(lambda: health_checks._record(integration, *probed, now))
    assert status_of(db, integration) == ("active", None)
    assert health_of(db, integration).get("last_checked_at") is None


def test_a_due_token_is_refreshed_before_the_check(fresh: Installed, db: psycopg.Connection) -> None:
    integration = fresh.integrations["msteams"]
    old = bundle_of(db, integration)["access_token"]
    expire_in(db, integration, "5 minutes")
    refreshes = sandbox_counter("msteams", "refresh_grants")
    assert check(integration).outcome is Outcome.DELIVERED
    assert sandbox_counter("msteams", "refresh_grants") == refreshes + 1
    assert bundle_of(db, integration)["access_token"] != old


def test_a_failed_refresh_of_an_expired_token_fails_the_check_without_asking(
    fresh: Installed, db: psycopg.Connection
) -> None:
    integration = fresh.integrations["google_chat"]
    expire_in(db, integration, "-1 minute")
    with fault("google_chat", mode="status", status=503, target="token"):
        result = check(integration)
    assert (result.outcome, result.reason) == (Outcome.RETRY, "refresh_failing")
    assert status_of(db, integration) == (
        "degraded",
        "refresh_failing",
    )  # not needs_reconnect: a 401 was never asked for
    # The backoff's end is the next refresh; a passing check after it recovers the integration.
    db.execute(
        "UPDATE integration_health SET retry_refresh_at = NULL WHERE integration_id = %s", (integration,)
    )
    assert check(integration).outcome is Outcome.DELIVERED
    assert status_of(db, integration) == ("active", None)


def test_the_worker_runs_scheduled_checks(fresh: Installed, db: psycopg.Connection) -> None:
    """With a three-second interval: a webhook deleted in Discord is found by the worker's own schedule, a
    working install is checked and stays active, and a token due within 15 minutes is refreshed."""
    deleted, working, teams = (fresh.integrations[p] for p in ("discord", "telegram", "msteams"))
    expire_in(db, teams, "10 minutes")
    teams_token = bundle_of(db, teams)["access_token"]
    webhook = db.execute("SELECT meta->>'webhook_id' FROM project_integrations WHERE id = %s", (deleted,))
    path = f"/sandbox/discord/api/webhooks/{webhook.fetchone()[0]}/{bundle_of(db, deleted)['webhook_token']}"
    assert httpx.delete(sandbox_origin() + path, timeout=10).status_code == 204

    env = {"HEALTH_CHECK_MINUTES": "0.05", "HEALTH_SCHEDULE_SECONDS": "1"}
    with running_worker(ARTIFACTS / "health-worker.log", **env):
        wait_for(
            db,
            "SELECT status, status_reason FROM project_integrations WHERE id = %s",
            (deleted,),
            lambda rows: rows[0] == ("needs_reconnect", "webhook_deleted"),
        )
        wait_for(
            db,
            "SELECT last_checked_at FROM integration_health WHERE integration_id = %s",
            (working,),
            lambda rows: bool(rows) and rows[0][0] is not None,
        )
        wait_for(
            db,
            "SELECT expires_at > now() + interval '30 minutes' FROM integration_credentials "
            "WHERE integration_id = %s",
            (teams,),
            lambda rows: rows[0][0],
        )
    assert status_of(db, working) == ("active", None)
    assert bundle_of(db, teams)["access_token"] != teams_token
    assert status_changes(db, deleted)[-1] == ("status_changed", "webhook_deleted", "health-check")
