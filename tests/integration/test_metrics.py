"""Metrics and request ids over real HTTP: the console's `GET /metrics`, the worker's own metrics port,
counters that move after a real sandbox install and a real delivery, the job queue read at scrape time,
and `X-Request-ID` on answers and error pages. The worker here logs JSON lines."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sandbox.msteams_fixtures import CONTOSO
from tests.integration.test_install_flow import browser, install, query_of, row
from tests.integration.test_oauth_providers import ACME, approve, base, consent, expire_access_token
from tests.utils.deliveries import (
    add_delivery,
    add_webhook,
    run_deliver,
    running_worker,
    seal_webhook,
    wait_for,
)
from tests.utils.events import Place, ticket_event
from tests.utils.identities import project_id
from tests.utils.live import free_port
from tms_console.domain.messages import Outcome
from tms_console.settings import clear_settings_cache

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {os.environ['METRICS_TOKEN']}"}


def scrape(url: str) -> Samples:
    answer = httpx.get(url + "/metrics", headers=auth(), timeout=20)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def metrics_worker(live_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A worker serving its metrics on a port of its own and logging JSON: its metrics URL and log."""
    log = tmp_path_factory.mktemp("metrics-worker") / "worker.log"
    port = free_port()
    with running_worker(log, WORKER_METRICS_PORT=str(port), LOG_FORMAT="json") as process:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, process, log)
        yield url, log
        assert process.poll() is None, log.read_text()[-3000:]


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        try:
            httpx.get(url + "/metrics", headers=auth(), timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the worker did not serve its metrics:\n" + log.read_text()[-3000:])


def test_metrics_answer_404_while_no_token_is_set(live_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_TOKEN")
    clear_settings_cache()
    try:
        answer = httpx.get(live_url + "/metrics", headers={"Authorization": "Bearer anything"})
    finally:
        monkeypatch.undo()
        clear_settings_cache()
    assert answer.status_code == 404 and "tms_" not in answer.text


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", "Basic x"])
def test_metrics_refuse_a_missing_or_wrong_token(live_url: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    answer = httpx.get(live_url + "/metrics", headers=headers)
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert "tms_" not in answer.text


def test_installs_and_callback_latency_are_counted(live_url: str) -> None:
    before = scrape(live_url)
    with browser(live_url) as client:
        done = install(client, "slack", project_id("Acme", "Billing Desk"))
        assert "status=success" in done.headers["location"]
        refused = client.get("/api/public/integrations/slack/callback", params={"state": "nope", "code": "x"})
        assert refused.status_code == 400
    after = scrape(live_url)
    installed = {"provider": "slack", "reason": "installed"}
    assert (
        value(after, "tms_installs_total", **installed)
        == value(before, "tms_installs_total", **installed) + 1
    )
    invalid = {"provider": "slack", "reason": "invalid_state"}
    assert value(after, "tms_installs_total", **invalid) == value(before, "tms_installs_total", **invalid) + 1
    count = "tms_oauth_callback_seconds_count"
    assert value(after, count, provider="slack") == value(before, count, provider="slack") + 2


def test_a_connect_without_redirect_is_counted_with_its_reason(live_url: str) -> None:
    before = scrape(live_url)
    with browser(live_url) as client:
        project = project_id("Acme", "Billing Desk")
        bad = client.post(
            f"/v1/tenants/{tenant_of('Acme')}/projects/{project}/integrations/webhook",
            json={"url": "http://127.0.0.1/hook"},
        )
    assert bad.status_code == 400, bad.text
    after = scrape(live_url)
    labels = {"provider": "webhook", "reason": bad.json()["reason"]}
    assert value(after, "tms_installs_total", **labels) == value(before, "tms_installs_total", **labels) + 1


def tenant_of(name: str) -> str:
    from devtools.seed import demo_id

    return str(demo_id(name))


def test_deliveries_are_counted_by_the_worker_with_job_and_delivery_in_its_json_log(
    metrics_worker: tuple[str, Path], live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    url, log = metrics_worker
    before = scrape(url)
    integration, _ = add_webhook(db, place, f"{sandbox_url}/sandbox/webhook/receive/{uuid.uuid4().hex}")
    answer = httpx.post(
        live_url + place.path,
        json=ticket_event(ticket_id="T-metrics"),
        headers={"Authorization": f"Bearer {place.token()}"},
        timeout=20,
    )
    assert answer.status_code == 202, answer.text
    [(delivery_id,)] = wait_for(
        db,
        "SELECT id FROM deliveries WHERE integration_id = %s AND status = 'delivered'",
        (integration,),
        lambda rows: len(rows) == 1,
    )
    labels = {"provider": "webhook", "outcome": "delivered"}
    after = scrape(url)
    # At least ours: the worker also takes what earlier modules left queued.
    assert (
        value(after, "tms_deliveries_total", **labels) >= value(before, "tms_deliveries_total", **labels) + 1
    )
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    [attempt] = [
        line
        for line in lines
        if line.get("event") == "delivery_attempt" and line.get("delivery_id") == str(delivery_id)
    ]
    assert attempt["outcome"] == "delivered"
    assert attempt["job_id"].isdigit() and attempt["logger"] == "tms_console.delivery"


def test_the_worker_metrics_port_wants_the_token_when_one_is_set(metrics_worker: tuple[str, Path]) -> None:
    url, _ = metrics_worker
    assert httpx.get(url + "/metrics").status_code == 401
    assert httpx.get(url + "/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(url + "/other", headers=auth()).status_code == 404


def test_queue_depth_and_oldest_age_are_read_when_scraped(live_url: str, db: psycopg.Connection) -> None:
    queue = "metrics_probe_" + uuid.uuid4().hex[:8]  # a queue no worker takes jobs from
    insert = (
        "INSERT INTO procrastinate_jobs (queue_name, task_name, scheduled_at) "
        "VALUES (%s, 'probe', %s::timestamptz) RETURNING id"
    )
    # A live (registered) worker runs the job set to `doing` below: no worker's stalled-job watch takes it.
    [worker] = db.execute("SELECT worker_id FROM procrastinate_register_worker_v1()").fetchall()
    try:
        unscheduled = db.execute(insert, (queue, None)).fetchone()
        db.execute(insert, (queue, "now()"))  # due now
        db.execute(insert, (queue, "2999-01-01T00:00:00Z"))  # waits, but is not due: no age yet
        assert unscheduled is not None
        db.execute(
            "UPDATE procrastinate_events SET at = now() - interval '2 hours' WHERE job_id = %s",
            (unscheduled[0],),
        )
        samples = scrape(live_url)
        todo = {"queue": queue, "status": "todo"}
        assert value(samples, "tms_queue_jobs", **todo) == 3
        assert 7200 <= value(samples, "tms_queue_oldest_job_age_seconds", **todo) < 7200 + 3600
        assert ("tms_queue_jobs", frozenset({"queue": "deliveries", "status": "doing"}.items())) in samples
        db.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
            (worker[0], unscheduled[0]),
        )
        samples = scrape(live_url)
        assert value(samples, "tms_queue_jobs", **todo) == 2
        assert value(samples, "tms_queue_jobs", queue=queue, status="doing") == 1
        assert value(samples, "tms_queue_oldest_job_age_seconds", **todo) < 3600
    finally:
        db.execute("DELETE FROM procrastinate_jobs WHERE queue_name = %s", (queue,))
        db.execute("DELETE FROM procrastinate_workers WHERE id = %s", (worker[0],))
    assert value(scrape(live_url), "tms_queue_jobs", queue=queue, status="todo") == 0


def test_metrics_hold_no_ids_or_secrets(live_url: str, db: psycopg.Connection, canary: str) -> None:
    text = httpx.get(live_url + "/metrics", headers=auth()).text
    assert "tms_installs_total" in text and "tms_queue_jobs" in text
    ids = [
        str(value)
        for row in db.execute("SELECT id, tenant_id, project_id FROM project_integrations")
        for value in row
    ]
    assert ids, "no installs to look for"
    assert not [found for found in ids if found in text]
    assert canary not in text and "CANARY" not in text
    assert os.environ["METRICS_TOKEN"] not in text and os.environ["JWT_SECRET"] not in text


def test_a_request_id_is_answered_kept_or_made(live_url: str) -> None:
    kept = httpx.get(live_url + "/api/health", headers={"X-Request-ID": "support-ticket-42"})
    assert kept.headers["x-request-id"] == "support-ticket-42"
    made = httpx.get(live_url + "/api/health", headers={"X-Request-ID": "no spaces <allowed>"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    other = httpx.get(live_url + "/openapi.json")
    assert re.fullmatch(r"[0-9a-f]{32}", other.headers["x-request-id"])
    assert other.headers["x-request-id"] != made.headers["x-request-id"]
    refused = httpx.get(live_url + "/v1/tenants/x/projects/y/integrations")
    assert refused.status_code == 401 and refused.headers["x-request-id"]


def test_the_callback_error_page_shows_the_request_id(live_url: str) -> None:
    answer = httpx.get(
        live_url + "/api/public/integrations/discord/callback",
        params={"state": "unknown", "code": "x"},
        headers={"X-Request-ID": "user-report-7"},
    )
    assert answer.status_code == 400
    assert answer.headers["x-request-id"] == "user-report-7"
    assert "Reference: <code>user-report-7</code>" in answer.text
    made = httpx.get(live_url + "/api/public/integrations/discord/callback", params={"state": "unknown"})
    assert f"Reference: <code>{made.headers['x-request-id']}</code>" in made.text


def test_status_changes_are_counted_once_each(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    """A delivery failing for good degrades the webhook, the next delivered one recovers it (run in this
    process, whose counters the in-process API serves)."""
    receiver = f"{sandbox_url}/sandbox/webhook/receive/{uuid.uuid4().hex}"
    integration, secret = add_webhook(db, place, receiver + "?status=400")
    degraded = {"provider": "webhook", "to": "degraded", "reason": "rejected"}
    recovered = {"provider": "webhook", "to": "active", "reason": "recovered"}
    before = scrape(live_url)
    assert run_deliver(add_delivery(db, place, integration, ticket_event())) is Outcome.REJECTED
    assert run_deliver(add_delivery(db, place, integration, ticket_event())) is Outcome.REJECTED  # no change
    seal_webhook(db, place, integration, receiver, secret)
    assert run_deliver(add_delivery(db, place, integration, ticket_event())) is Outcome.DELIVERED
    after = scrape(live_url)
    name = "tms_integration_transitions_total"
    assert value(after, name, **degraded) == value(before, name, **degraded) + 1
    assert value(after, name, **recovered) == value(before, name, **recovered) + 1
    failed = {"provider": "webhook", "outcome": "failed"}
    assert (
        value(after, "tms_deliveries_total", **failed) == value(before, "tms_deliveries_total", **failed) + 2
    )


def test_a_refused_token_refresh_is_counted(live_url: str, db: psycopg.Connection) -> None:
    """Teams rotates refresh tokens and takes each once: credentials put back from before a refresh hold
    a spent one, which Teams refuses."""
    project = project_id(ACME, "Customer Support")
    targets = f"{base(project)}/msteams/targets"
    with browser(live_url, ACME, "ada@acme.example") as ada:
        if row(db, "msteams", project) is not None:
            assert ada.delete(f"{base(project)}/msteams").status_code == 204
        done = approve(ada, consent(ada, "msteams", project), tenant_id=CONTOSO.id)
        assert query_of(done.headers["location"])["status"] == "success"
        integration = row(db, "msteams", project)[0]
        try:
            spent = db.execute(
                "SELECT key_id, nonce, ciphertext FROM integration_credentials WHERE integration_id = %s",
                (integration,),
            ).fetchone()
            expire_access_token(db, "msteams", project)
            assert ada.get(targets).status_code == 200  # refreshed: the stored refresh token is spent
            db.execute(
                "UPDATE integration_credentials SET key_id = %s, nonce = %s, ciphertext = %s, "
                "expires_at = now() - interval '1 hour' WHERE integration_id = %s",
                (*spent, integration),
            )
            before = scrape(live_url)
            refused = ada.get(targets)
            after = scrape(live_url)
        finally:
            assert ada.delete(f"{base(project)}/msteams").status_code == 204
    assert refused.status_code == 400 and refused.json()["reason"] == "needs_reconnect", refused.text
    labels = {"provider": "msteams", "reason": "invalid_grant"}
    name = "tms_token_refresh_failures_total"
    assert value(after, name, **labels) == value(before, name, **labels) + 1
