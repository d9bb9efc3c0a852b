"""Figure 6: ticket event intake and delivery, each beside a floor measured in the same run.

Projects with three integrations each (Slack, Discord, webhook; sealed credentials as an install
leaves them) deliver to a FAST fake provider (`fast_provider.py`: a bare ASGI app answering at once),
which the console reaches through the same provider settings the sandbox uses (test mode: its loopback
origin is the one allowed). Phases, in order:

1. Intake: EVENTS `ticket.created` events (a new ticket each) POSTed over HTTP with a service JWT by 50
   concurrent clients to `create_api()` under uvicorn (1 worker); no worker runs yet. Floor: a bare loop
   storing the same rows and deferring the same three jobs per event, one transaction per event.
2. Delivery: one `python -m tms_console.worker` (concurrency as shipped) drains the 3 x EVENTS jobs.
   Floor: a bare asyncio loop POSTing the same rendered bodies with one httpx client at the same
   concurrency.
3. Latency: events at a steady 50/s through the intake while the worker runs; event-to-delivered is the
   delivery's `delivered_at` minus the moment its event was sent.
4. Memory: the worker's RSS at its first delivery and after RSS_DELIVERIES deliveries (events beyond the
   phases above are queued in bulk, straight into the tables and the queue).

The Postgres of the machines this runs on has autovacuum off (a CI setting), so the planner never learns
that the job table grew: procrastinate's fetch then scans every waiting job for every job it takes
(400 ms per fetch at 2,500 waiting jobs, one job at a time). Production Postgres analyzes a table that
changed that much within a minute; the benchmark runs ANALYZE where autovacuum would have (`analyze`).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from benchmarks import common
from benchmarks.common import Bench, ms, pct, say

EVENTS = int(os.environ.get("BENCH_EVENTS", "10000"))
PROJECTS = int(os.environ.get("BENCH_DELIVERY_PROJECTS", "100"))
FLOOR_EVENTS = int(os.environ.get("BENCH_FLOOR_EVENTS", "3000"))
FLOOR_POSTS = int(os.environ.get("BENCH_FLOOR_POSTS", "9000"))
STEADY_SECONDS = int(os.environ.get("BENCH_STEADY_SECONDS", "60"))
STEADY_RATE = 50
# A rate one worker keeps up with on a small shared machine: the pipeline's own latency, without a queue.
LOW_RATE = int(os.environ.get("BENCH_LOW_RATE", "5"))
RSS_DELIVERIES = int(os.environ.get("BENCH_RSS_DELIVERIES", "100000"))
# "rss": only the memory phase (its own section, fig6_rss), for the long run beside the others' work.
ONLY = os.environ.get("BENCH_FIG6_ONLY", "")
RSS_CHUNK = 3000  # events queued at a time in the memory phase (9,000 deliveries)
WARMUP = 100
KINDS = ("slack", "discord", "webhook")
TENANT = uuid.UUID("00000000-0000-4000-8000-00000000d6e1")
FLOOR_QUEUE = "bench_floor"  # no worker listens to it
TARGETS = {"deliveries": 0.6, "intake": 0.5, "p50": 0.300, "p99": 1.0}


@dataclass
class Place:
    project_id: uuid.UUID
    integrations: dict[str, uuid.UUID] = field(default_factory=dict)


def event_body(serial: int, ticket: str | None = None) -> dict[str, Any]:
    from tests.utils.events import ticket_event

    body = ticket_event(ticket_id=ticket or f"T-{serial}-{uuid.uuid4().hex[:8]}")
    body["ticket"]["number"] = serial
    body["ticket"]["subject"] = f"Printer {serial} on fire"
    return body


# --- setup ---------------------------------------------------------------------------------------


def create_places(ctx: Bench, fast_url: str, count: int, name: str) -> list[Place]:
    """`count` projects, each with Slack, Discord and a webhook sealed as their installs leave them."""
    import psycopg
    from psycopg.types.json import Jsonb

    from tms_console.security.keyring import configured_keyring, row_aad

    keyring, places = configured_keyring(), []
    with psycopg.connect(ctx.libpq_url(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name) VALUES (%s, 'Bench Delivery') ON CONFLICT DO NOTHING", (TENANT,)
        )
        for index in range(count):
            place = Place(uuid.uuid4())
            conn.execute(
                "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, %s)",
                (place.project_id, TENANT, f"{name} {index:04d}"),
            )
            for kind in KINDS:
                row_id = uuid.uuid4()
                meta, bundle = _install(kind, fast_url, index)
                conn.execute(
                    "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta, "
                    "status) VALUES (%s, %s, %s, %s, %s, 'active')",
                    (row_id, TENANT, place.project_id, kind, Jsonb(meta)),
                )
                aad = row_aad(
                    tenant_id=TENANT, project_id=place.project_id, integration_type=kind, row_id=row_id
                )
                sealed = keyring.seal(bundle, aad=aad)
                conn.execute(
                    "INSERT INTO integration_credentials (integration_id, key_id, nonce, ciphertext) "
                    "VALUES (%s, %s, %s, %s)",
                    (row_id, sealed.key_id, sealed.nonce, sealed.ciphertext),
                )
                place.integrations[kind] = row_id
            places.append(place)
    return places


def _install(kind: str, fast_url: str, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    from tms_console.security import signing

    if kind == "slack":
        return {"target_id": "C0BENCH001", "channel_id": "C0BENCH001"}, {
            "access_token": f"xoxb-bench-{index}"
        }
    if kind == "discord":
        meta = {"webhook_id": str(1_150_000_000_000_000_000 + index), "channel_id": "1100000000000000001"}
        return meta | {"guild_id": "1000000000000000001"}, {"webhook_token": f"bench-token-{index}"}
    bundle = {
        "url": f"{fast_url}/hook/{index}",
        "signing_secret": signing.new_signing_secret(),
        "template": "",
    }
    return {}, bundle


# --- phase 1: intake -------------------------------------------------------------------------------


async def post_events(
    api_url: str, token: str, jobs: list[tuple[uuid.UUID, dict[str, Any]]], concurrency: int
) -> common.LoadResult:
    """POST every (project, event) with `concurrency` clients; latency of the 202s."""
    import aiohttp

    result = common.LoadResult("intake")
    queue: asyncio.Queue[tuple[uuid.UUID, dict[str, Any]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:

        async def client() -> None:
            while not queue.empty():
                project, body = queue.get_nowait()
                url = f"{api_url}/v1/tenants/{TENANT}/projects/{project}/events"
                started = time.perf_counter()
                try:
                    async with http.post(url, data=json.dumps(body), headers=headers) as answer:
                        await answer.read()
                        status = answer.status
                except (aiohttp.ClientError, TimeoutError):
                    result.errors += 1
                    continue
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status == 202:
                    result.latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - started
    return result


def intake_floor(ctx: Bench, place: Place, count: int) -> tuple[float, float]:
    """Events/s of a bare loop, and its CPU seconds per event: the event row, its three delivery rows and
    their three jobs, one transaction per event (on a queue no worker reads); everything it wrote is
    deleted afterwards."""
    import psycopg
    from psycopg.types.json import Jsonb

    bodies = [event_body(serial) for serial in range(count)]
    with psycopg.connect(ctx.libpq_url()) as conn:
        started, cpu = time.perf_counter(), time.process_time()
        for body in bodies:
            with conn.transaction():
                event_id = uuid.uuid4()
                conn.execute(
                    "INSERT INTO ticket_events (id, tenant_id, project_id, event_id, type, payload, answer) "
                    "VALUES (%s, %s, %s, %s, %s, %s, '{}')",
                    (event_id, TENANT, place.project_id, body["id"], body["type"], Jsonb(body)),
                )
                jobs = []
                for kind, integration in place.integrations.items():
                    delivery = uuid.uuid4()
                    conn.execute(
                        "INSERT INTO deliveries (id, ticket_event_id, tenant_id, project_id, integration_id, "
                        "integration_type) VALUES (%s, %s, %s, %s, %s, %s)",
                        (delivery, event_id, TENANT, place.project_id, integration, kind),
                    )
                    lock = f"delivery:{integration}:{body['ticket']['id']}"
                    jobs.append((lock, json.dumps({"delivery_id": str(delivery)})))
                conn.execute(
                    "SELECT procrastinate_defer_jobs_v1(ARRAY["
                    + ",".join(["ROW(%s, 'deliver', 0, %s, NULL, %s, NULL)"] * len(jobs))
                    + "]::procrastinate_job_to_defer_v1[])",
                    [value for lock, args in jobs for value in (FLOOR_QUEUE, lock, args)],
                )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        conn.execute("DELETE FROM procrastinate_jobs WHERE queue_name = %s", (FLOOR_QUEUE,))
        conn.execute("DELETE FROM ticket_events WHERE project_id = %s", (place.project_id,))
        conn.commit()
    return count / elapsed, cpu / count


# --- phase 2: delivery ------------------------------------------------------------------------------


def analyze(ctx: Bench) -> None:
    """What autovacuum would have done by now: fresh planner statistics for every table."""
    import psycopg

    with psycopg.connect(ctx.libpq_url(), autocommit=True) as conn:
        conn.execute("ANALYZE")


def start_worker(ctx: Bench, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (common.WORK / "fig6_worker.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "tms_console.worker"],
        cwd=common.ROOT,
        env=ctx.server_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def rss(pid: int) -> int:
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


def cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def delivered_count(conn: Any) -> tuple[int, int]:
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'delivered'), count(*) FILTER (WHERE status <> 'pending') "
        "FROM deliveries WHERE tenant_id = %s",
        (TENANT,),
    ).fetchone()
    return int(row[0]), int(row[1])


def wait_settled(
    conn: Any, total: int, worker: subprocess.Popen[bytes], samples: list[tuple[int, int]]
) -> None:
    """Until `total` deliveries of the bench tenant are settled; (delivered, RSS) sampled on the way."""
    last_report = 0.0
    while True:
        delivered, settled = delivered_count(conn)
        if worker.poll() is not None:
            raise RuntimeError("the worker exited: " + (common.WORK / "fig6_worker.log").read_text()[-3000:])
        if delivered and (not samples or delivered - samples[-1][0] >= 5000):
            samples.append((delivered, rss(worker.pid)))
        if settled >= total:
            return
        if time.monotonic() - last_report > 30:
            say(f"    {settled}/{total} settled")
            last_report = time.monotonic()
        time.sleep(0.5)


def delivery_rate(conn: Any, since: float) -> tuple[float, int]:
    """Deliveries/s between the first and the last `delivered_at` after `since` (epoch seconds)."""
    row = conn.execute(
        "SELECT count(*), extract(epoch FROM min(delivered_at)), extract(epoch FROM max(delivered_at)) "
        "FROM deliveries WHERE tenant_id = %s AND delivered_at >= to_timestamp(%s)",
        (TENANT, since),
    ).fetchone()
    count, first, last = int(row[0]), float(row[1] or 0), float(row[2] or 0)
    return ((count - 1) / (last - first) if last > first else float("nan")), count


async def delivery_floor(
    fast_url: str, places: list[Place], count: int, concurrency: int
) -> tuple[float, float]:
    """Posts/s of a bare asyncio loop POSTing the same rendered bodies with one httpx client, and its CPU
    seconds per post."""
    import httpx

    from tms_console.domain.events import TicketEvent
    from tms_console.providers.registry import HOOKS

    posts: list[tuple[str, bytes, dict[str, str]]] = []
    for serial in range(count // len(KINDS) + 1):
        event = TicketEvent.from_dict(event_body(serial))
        index = serial % len(places)
        for kind in KINDS:
            payload = HOOKS[kind].render_event(event, {}).payload
            if kind == "slack":
                url, headers = f"{fast_url}/sandbox/slack/api/chat.postMessage", {"Authorization": "Bearer x"}
                payload = dict(payload) | {"channel": "C0BENCH001"}
            elif kind == "discord":
                url, headers = f"{fast_url}/sandbox/discord/api/v10/webhooks/{index}/t?wait=true", {}
            else:
                url, headers = f"{fast_url}/hook/{index}", {}
            posts.append((url, json.dumps(payload).encode(), headers | {"Content-Type": "application/json"}))
    posts = posts[:count]
    queue: asyncio.Queue[tuple[str, bytes, dict[str, str]]] = asyncio.Queue()
    for post in posts:
        queue.put_nowait(post)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=15) as client:

        async def poster() -> None:
            while not queue.empty():
                url, body, headers = queue.get_nowait()
                answer = await client.post(url, content=body, headers=headers)
                answer.raise_for_status()

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(poster() for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        return len(posts) / elapsed, cpu / len(posts)


# --- phase 3: steady latency ------------------------------------------------------------------------


async def steady(
    api_url: str, token: str, places: list[Place], seconds: int, rate: int, offset: int
) -> tuple[dict[str, float], list[float]]:
    """Events at `rate`/s for `seconds`: accepted event id -> wall-clock send time; intake latencies."""
    import aiohttp

    sent: dict[str, float] = {}
    latencies: list[float] = []
    failed: list[int] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:

        async def one(serial: int) -> None:
            body = event_body(offset + serial)
            project = places[serial % len(places)].project_id
            url = f"{api_url}/v1/tenants/{TENANT}/projects/{project}/events"
            sent_at, started = time.time(), time.perf_counter()
            try:
                async with http.post(url, data=json.dumps(body), headers=headers) as answer:
                    await answer.read()
                    status = answer.status
            except (aiohttp.ClientError, TimeoutError):
                status = -1  # not accepted: its deliveries are not waited for
            if status == 202:
                sent[body["id"]] = sent_at
                latencies.append(time.perf_counter() - started)
            else:
                failed.append(status)

        tasks, start = [], time.perf_counter()
        for serial in range(seconds * rate):
            delay = start + serial / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(serial)))
        await asyncio.gather(*tasks)
    if failed:
        say(f"    {len(failed)} steady events not accepted: {sorted(set(failed))}")
    return sent, latencies


def event_to_delivered(conn: Any, sent: dict[str, float]) -> list[float]:
    rows = conn.execute(
        "SELECT e.event_id, extract(epoch FROM d.delivered_at) FROM deliveries d "
        "JOIN ticket_events e ON e.id = d.ticket_event_id "
        "WHERE d.tenant_id = %s AND e.event_id = ANY(%s) AND d.status = 'delivered'",
        (TENANT, list(sent)),
    ).fetchall()
    return [float(at) - sent[event_id] for event_id, at in rows]


# --- phase 4: bulk events for the memory figure -------------------------------------------------------


def queue_bulk(ctx: Bench, places: list[Place], events: int, offset: int) -> None:
    """`events` more events' rows and jobs, 500 per transaction, straight into the worker's queue."""
    import psycopg
    from psycopg.types.json import Jsonb

    from tms_console.persistence.job_queue import DELIVER_TASK, DELIVERIES_QUEUE

    with psycopg.connect(ctx.libpq_url()) as conn:
        for start in range(0, events, 500):
            with conn.transaction(), conn.cursor() as cur:
                event_rows, delivery_rows, jobs = [], [], []
                for serial in range(offset + start, offset + min(events, start + 500)):
                    body, place = event_body(serial), places[serial % len(places)]
                    event_id = uuid.uuid4()
                    event_rows.append(
                        (event_id, TENANT, place.project_id, body["id"], body["type"], Jsonb(body))
                    )
                    for kind, integration in place.integrations.items():
                        delivery = uuid.uuid4()
                        delivery_rows.append(
                            (delivery, event_id, TENANT, place.project_id, integration, kind)
                        )
                        lock = f"delivery:{integration}:{body['ticket']['id']}"
                        jobs.append(
                            (DELIVERIES_QUEUE, DELIVER_TASK, lock, json.dumps({"delivery_id": str(delivery)}))
                        )
                cur.executemany(
                    "INSERT INTO ticket_events (id, tenant_id, project_id, event_id, type, payload, answer) "
                    "VALUES (%s, %s, %s, %s, %s, %s, '{}')",
                    event_rows,
                )
                cur.executemany(
                    "INSERT INTO deliveries (id, ticket_event_id, tenant_id, project_id, integration_id, "
                    "integration_type) VALUES (%s, %s, %s, %s, %s, %s)",
                    delivery_rows,
                )
                cur.executemany(
                    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(%s, %s, 0, %s, NULL, %s, NULL)]"
                    "::procrastinate_job_to_defer_v1[])",
                    jobs,
                )


# --- the figure -------------------------------------------------------------------------------------


def mib(value: float) -> str:
    return f"{value / 1024 / 1024:.1f} MiB"


def memory(
    ctx: Bench,
    conn: Any,
    worker: subprocess.Popen[bytes],
    places: list[Place],
    queued: int,
    samples: list[tuple[int, int]],
) -> None:
    """Phase 4: events queued in bulk, RSS_CHUNK at a time, until the worker has settled RSS_DELIVERIES
    deliveries; its RSS every 5,000 deliveries. Writes the fig6_rss section."""
    started, cpu, first = time.monotonic(), cpu_seconds(worker.pid), queued
    offset = 3 * 10**6
    say(f"  memory: events queued in bulk until {RSS_DELIVERIES} deliveries ...")
    while queued < RSS_DELIVERIES:
        events = min(RSS_CHUNK, (RSS_DELIVERIES - queued) // len(KINDS) + 1)
        queue_bulk(ctx, places, events, offset)
        offset += events
        if queued == first:
            analyze(ctx)  # what autovacuum does once the queue has grown
        queued += len(KINDS) * events
        wait_settled(conn, queued, worker, samples)
    delivered, settled = delivered_count(conn)
    samples.append((delivered, rss(worker.pid)))
    cpu_ms = (cpu_seconds(worker.pid) - cpu) / max(queued - first, 1) * 1000
    write_rss(samples, settled, cpu_ms, time.monotonic() - started)


@contextmanager
def fast_provider(ctx: Bench) -> Iterator[tuple[str, dict[str, str]]]:
    """The fast fake provider (one uvicorn worker) and the console's settings that make it every provider."""
    with common.uvicorn_server(
        ctx, "benchmarks.fast_provider:create_app", name="fast_provider", ready_path="/_count", workers=1
    ) as fast_url:
        env = common.sandbox_settings(fast_url, "BENCHFAST")
        ctx.use_settings(**env)
        yield fast_url, env


def main_rss(ctx: Bench) -> None:
    """The memory phase alone: the same projects, provider and worker, no intake or latency phases."""
    from tms_console.worker import CONCURRENCY as WORKER_CONCURRENCY

    say(f"== Figure 6, memory only: worker RSS over {RSS_DELIVERIES} deliveries")
    with fast_provider(ctx) as (fast_url, env):
        places = create_places(ctx, fast_url, PROJECTS, "Delivery")
        analyze(ctx)
        import psycopg

        with psycopg.connect(ctx.libpq_url(), autocommit=True) as conn:
            worker = start_worker(ctx, env)
            try:
                say(f"  one worker (concurrency {WORKER_CONCURRENCY})")
                memory(ctx, conn, worker, places, 0, [])
            finally:
                common.stop(worker)


def main(ctx: Bench) -> dict[str, float]:
    from tms_console.worker import CONCURRENCY as WORKER_CONCURRENCY

    if ONLY == "rss":
        main_rss(ctx)
        return {}
    say(
        f"== Figure 6: intake and delivery ({EVENTS} events, {PROJECTS} projects x {len(KINDS)} integrations)"
    )
    with fast_provider(ctx) as (fast_url, env):
        places = create_places(ctx, fast_url, PROJECTS, "Delivery")
        [floor_place] = create_places(ctx, fast_url, 1, "Intake floor")
        analyze(ctx)
        token = common.token(TENANT, "tms-backend", "TMS", role="service")
        with common.uvicorn_server(
            ctx, "tms_console.api:create_api", name="fig6_api", ready_path="/api/health", **env
        ) as api:
            jobs = [(places[i % PROJECTS].project_id, event_body(i)) for i in range(WARMUP + EVENTS)]
            warm = asyncio.run(post_events(api, token, jobs[:WARMUP], common.CONCURRENCY))
            say(f"  intake: {EVENTS} events, {common.CONCURRENCY} clients ...")
            api_cpu = cpu_seconds(common.SERVER_PIDS[api])
            intake = asyncio.run(post_events(api, token, jobs[WARMUP:], common.CONCURRENCY))
            intake_cpu_ms = (cpu_seconds(common.SERVER_PIDS[api]) - api_cpu) / max(intake.ok, 1) * 1000
            say("  " + intake.line() + f"; API CPU {intake_cpu_ms:.2f} ms per event")
            say(f"  intake floor: bare loop, {FLOOR_EVENTS} events ...")
            floor_intake, floor_intake_cpu = intake_floor(ctx, floor_place, FLOOR_EVENTS)
            say(
                f"  intake floor: {floor_intake:.0f} events/s, CPU {floor_intake_cpu * 1000:.2f} ms per event"
            )

            import psycopg

            analyze(ctx)
            with psycopg.connect(ctx.libpq_url(), autocommit=True) as conn:
                queued = 3 * (warm.ok + intake.ok)  # a refused event (503) has no deliveries
                samples: list[tuple[int, int]] = []
                worker = start_worker(ctx, env)
                try:
                    began, cpu = time.time(), cpu_seconds(worker.pid)
                    say(f"  delivery: one worker (concurrency {WORKER_CONCURRENCY}) drains {queued} jobs ...")
                    wait_settled(conn, queued, worker, samples)
                    rate, counted = delivery_rate(conn, began)
                    drained = queued
                    cpu_ms = (cpu_seconds(worker.pid) - cpu) / drained * 1000
                    delivered, settled = delivered_count(conn)
                    say(
                        f"  delivery: {rate:.0f}/s ({counted} timed; {delivered}/{settled} delivered); "
                        f"worker CPU {cpu_ms:.2f} ms per delivery"
                    )
                    say(f"  delivery floor: bare httpx loop, {FLOOR_POSTS} posts ...")
                    floor_rate, floor_cpu = asyncio.run(
                        delivery_floor(fast_url, places, FLOOR_POSTS, WORKER_CONCURRENCY)
                    )
                    say(f"  delivery floor: {floor_rate:.0f} posts/s, CPU {floor_cpu * 1000:.2f} ms per post")

                    runs = {}
                    for rate_, seconds, offset in (
                        (STEADY_RATE, STEADY_SECONDS, 10**6),
                        (LOW_RATE, 30, 2 * 10**6),
                    ):
                        say(f"  steady: {rate_} events/s for {seconds} s ...")
                        sent, took = asyncio.run(steady(api, token, places, seconds, rate_, offset))
                        queued += 3 * len(sent)
                        wait_settled(conn, queued, worker, samples)
                        runs[rate_] = (event_to_delivered(conn, sent), took, seconds * rate_ - len(sent))
                        p50, p99 = ms(pct(runs[rate_][0], 50)), ms(pct(runs[rate_][0], 99))
                        say(f"  event-to-delivered: p50 {p50}, p99 {p99} over {len(runs[rate_][0])}")
                    latencies, steady_intake, refused = runs[STEADY_RATE]

                    delivered, settled = delivered_count(conn)
                    samples.append((delivered, rss(worker.pid)))
                    if RSS_DELIVERIES:
                        memory(ctx, conn, worker, places, queued, list(samples))
                finally:
                    common.stop(worker)
    result = {
        "intake_rate": intake.rps,
        "intake_p99": pct(intake.latencies, 99),
        "intake_floor": floor_intake,
        "delivery_rate": rate,
        "delivery_floor": floor_rate,
        "p50": pct(latencies, 50),
        "p99": pct(latencies, 99),
        "rss_start": samples[0][1],
        "rss_end": samples[-1][1],
        "delivered": delivered,
        "settled": settled,
        "cpu_ms": cpu_ms,
        "floor_cpu_ms": floor_cpu * 1000,
        "intake_cpu_ms": intake_cpu_ms,
        "floor_intake_cpu_ms": floor_intake_cpu * 1000,
        "drained": drained,
        "refused": refused,
        "low_p50": pct(runs[LOW_RATE][0], 50),
        "low_p99": pct(runs[LOW_RATE][0], 99),
        "low_count": len(runs[LOW_RATE][0]),
    }
    write(result, intake, samples, steady_intake, len(latencies), WORKER_CONCURRENCY)
    return result


def write(
    r: dict[str, float],
    intake: common.LoadResult,
    samples: list[tuple[int, int]],
    steady_intake: list[float],
    timed: int,
    concurrency: int,
) -> None:
    def verdict(value: float, target: float, above: bool = True) -> str:
        return "meets" if (value >= target if above else value < target) else "misses"

    intake_ratio = r["intake_rate"] / r["intake_floor"]
    delivery_ratio = r["delivery_rate"] / r["delivery_floor"]
    growth = r["rss_end"] - r["rss_start"]
    curve = ", ".join(f"{n}: {mib(v)}" for n, v in samples)
    say(f"  intake {intake_ratio:.2f} x floor, delivery {delivery_ratio:.2f} x floor")
    say(f"  worker RSS {mib(r['rss_start'])} -> {mib(r['rss_end'])} after {int(r['delivered'])} deliveries")
    rows = [
        (
            f"intake events/s ({EVENTS} events, {common.CONCURRENCY} clients; JWT, validation, fan-out)",
            f"{r['intake_rate']:.0f} (p99 {ms(r['intake_p99'])})",
            f"{r['intake_floor']:.0f} (bare loop, one transaction per event, {FLOOR_EVENTS} events)",
            f"{intake_ratio:.2f}",
            f">= 0.5: {verdict(intake_ratio, 0.5)}",
        ),
        (
            f"deliveries/s per worker process ({int(r['drained'])} jobs)",
            f"{r['delivery_rate']:.0f}",
            f"{r['delivery_floor']:.0f} (httpx loop, concurrency {concurrency}, {FLOOR_POSTS} posts)",
            f"{delivery_ratio:.2f}",
            f">= 0.6: {verdict(delivery_ratio, 0.6)}",
        ),
        (
            f"event-to-delivered p50 at {STEADY_RATE} events/s ({timed} deliveries over {STEADY_SECONDS} s)",
            ms(r["p50"]),
            "",
            "",
            f"< 300 ms: {verdict(r['p50'], 0.3, above=False)}",
        ),
        ("event-to-delivered p99", ms(r["p99"]), "", "", f"< 1 s: {verdict(r['p99'], 1.0, above=False)}"),
        (
            f"event-to-delivered p50 / p99 at {LOW_RATE} events/s ({int(r['low_count'])} deliveries, 30 s)",
            f"{ms(r['low_p50'])} / {ms(r['low_p99'])}",
            "",
            "",
            "(for context)",
        ),
        (
            f"worker RSS at its first delivery -> after {int(r['delivered'])} deliveries",
            f"{mib(r['rss_start'])} -> {mib(r['rss_end'])} (+{mib(growth)})",
            "",
            "",
            "flat",
        ),
    ]
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    statuses = dict(sorted(intake.statuses.items()))
    common.write_section(
        "fig6",
        f"""## 6. Ticket event intake and delivery (`fig6_delivery.py`)

{PROJECTS} projects with three integrations each (Slack `chat.postMessage`, Discord execute webhook
`?wait=true` plus the thread started on a ticket's first message, a signed webhook), against a fast fake
provider (`fast_provider.py`, a bare ASGI app answering every POST at once, 1 uvicorn worker) reached
through the console's provider settings. Every event is a new ticket. One API worker
(`create_api()` under uvicorn), one `python -m tms_console.worker` (concurrency {concurrency}).

| measure | console | floor (same run) | ratio | target |
|---|---|---|---|---|
{table}

Intake statuses {statuses}, transport errors {intake.errors}; at {STEADY_RATE} events/s the intake's p99
was {ms(pct(steady_intake, 99))} and {int(r["refused"])} events were not accepted (503 or reset). CPU per
unit of work (steadier than rates on a shared machine): the API {r["intake_cpu_ms"]:.2f} ms per event
(the floor's loop {r["floor_intake_cpu_ms"]:.2f} ms, its Postgres not counted in either), the worker
{r["cpu_ms"]:.2f} ms per delivery while draining (the floor's loop {r["floor_cpu_ms"]:.2f} ms per post).
Deliveries settled: {int(r["settled"])}, delivered: {int(r["delivered"])}. Worker RSS by deliveries done:
{curve}.
""",
    )


def write_rss(samples: list[tuple[int, int]], settled: int, cpu_ms: float, seconds: float) -> None:
    (first, start), (done, end) = samples[0], samples[-1]
    after = [value for count, value in samples if count >= 30000]
    late = f"{mib(max(after) - min(after))}" if len(after) > 1 else "n/a"
    curve = ", ".join(f"{n}: {mib(v)}" for n, v in samples)
    growth = f"+{mib(end - start)}"
    say(f"  worker RSS {mib(start)} -> {mib(end)} after {done} deliveries (spread after 30,000: {late})")
    common.write_section(
        "fig6_rss",
        f"""## 6b. Worker RSS over {RSS_DELIVERIES} deliveries (`fig6_delivery.py`, memory phase)

One `python -m tms_console.worker` delivering to the fast fake provider ({PROJECTS} projects x Slack,
Discord, webhook; every event a new ticket), events queued in bulk {RSS_CHUNK} at a time straight into
the tables and the queue. `BENCH_FIG6_ONLY=rss` runs this phase alone (it then writes only this
section); otherwise it follows fig6's phases with the same worker.

| measure | value | target |
|---|---|---|
| worker RSS at delivery {first} -> after {done} deliveries | {mib(start)} -> {mib(end)} ({growth}) | flat |
| RSS spread (max - min) from 30,000 deliveries on | {late} | flat |

Deliveries settled: {settled}. Worker CPU {cpu_ms:.2f} ms per delivery over the phase
({seconds / 60:.0f} min).
Worker RSS by deliveries done: {curve}.
""",
    )


if __name__ == "__main__":
    with common.bench() as bench_ctx:
        main(bench_ctx)
