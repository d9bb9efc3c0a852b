"""Figure 7: health checks of 10,000 integrations spread over one (compressed) interval.

INTEGRATIONS integrations of the six probing providers (Slack `auth.test`, Discord's webhook, a Teams channel,
a Chat space, Telegram `getMe` + `getChat`, a WhatsApp number; sealed credentials as an install leaves them,
tokens that expire in a day, so no refresh is due) are checked by one `python -m tms_console.worker` (as
shipped) with HEALTH_CHECK_MINUTES compressed to BENCH_HEALTH_SECONDS. The FAST fake provider
(`fast_provider.py`) answers every probe at once and counts requests by provider and second: the peak of
those counts is the herd a provider would see. The worker's CPU share is its CPU time (user + system) over
the wall time of the interval, in one core's terms.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from benchmarks import common
from benchmarks.common import Bench, say

INTEGRATIONS = int(os.environ.get("BENCH_HEALTH_INTEGRATIONS", "10000"))
INTERVAL_SECONDS = int(os.environ.get("BENCH_HEALTH_SECONDS", "600"))
TICK_SECONDS = 10  # HEALTH_SCHEDULE_SECONDS: the scheduler defers the next ten seconds' slots each time
RATE = int(os.environ.get("BENCH_HEALTH_RATE", "20"))  # HEALTH_RATE_PER_SECOND, the shipped default
KINDS = ("slack", "discord", "msteams", "google_chat", "telegram", "whatsapp")
TENANT = uuid.UUID("00000000-0000-4000-8000-00000000f7e1")


def installs(kind: str, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Meta and secrets shaped as each provider's install leaves them (the fast provider checks nothing)."""
    snowflake = str(1_150_000_000_000_000_000 + index)
    return {
        "slack": ({"channel_id": "C0BENCH001", "target_id": "C0BENCH001"}, {"access_token": f"xoxb-{index}"}),
        "discord": (
            {"webhook_id": snowflake, "channel_id": "1100000000000000001"},
            {"webhook_token": f"t{index}"},
        ),
        "msteams": (
            {"team_id": f"team-{index}", "channel_id": f"19:bench{index}@thread.tacv2"},
            {"access_token": f"eyJ.bench.{index}", "refresh_token": f"r{index}"},
        ),
        "google_chat": (
            {"target_id": f"spaces/AAQAbench{index}"},
            {"access_token": f"ya29.bench{index}", "refresh_token": f"r{index}"},
        ),
        "telegram": ({"target_id": str(-1001800000000 - index)}, {"bot_token": f"{index}:AAbench"}),
        "whatsapp": (
            {"phone_number_id": str(1_060_000_000 + index), "recipient": "+15551230099"},
            {"access_token": f"EAAb{index}"},
        ),
    }[kind]


def create_integrations(ctx: Bench, count: int) -> None:
    """`count` integrations, the six kinds in turn, each kind's in projects of their own (one row per
    project and kind); written with COPY-sized batches."""
    import psycopg
    from psycopg.types.json import Jsonb

    from tms_console.security.keyring import configured_keyring, row_aad

    keyring = configured_keyring()
    projects = [uuid.uuid4() for _ in range(-(-count // len(KINDS)))]
    rows, credentials = [], []
    for index in range(count):
        kind, project = KINDS[index % len(KINDS)], projects[index // len(KINDS)]
        row_id = uuid.uuid4()
        meta, bundle = installs(kind, index)
        rows.append((row_id, TENANT, project, kind, Jsonb(meta)))
        aad = row_aad(tenant_id=TENANT, project_id=project, integration_type=kind, row_id=row_id)
        sealed = keyring.seal(bundle, aad=aad)
        credentials.append((row_id, sealed.key_id, sealed.nonce, sealed.ciphertext))
    with psycopg.connect(ctx.libpq_url(), autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tenants (id, name) VALUES (%s, 'Bench Health') ON CONFLICT DO NOTHING", (TENANT,)
        )
        cursor.executemany(
            "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, 'Health')",
            [(p, TENANT) for p in projects],
        )
        cursor.executemany(
            "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, meta, status) "
            "VALUES (%s, %s, %s, %s, %s, 'active')",
            rows,
        )
        cursor.executemany(
            "INSERT INTO integration_credentials (integration_id, key_id, nonce, ciphertext, expires_at) "
            "VALUES (%s, %s, %s, %s, now() + interval '1 day')",
            credentials,
        )
        conn.execute("ANALYZE")


def checked(conn: Any) -> int:
    row = conn.execute(
        "SELECT count(*) FROM integration_health h JOIN project_integrations p ON p.id = h.integration_id "
        "WHERE p.tenant_id = %s AND h.last_checked_at IS NOT NULL",
        (TENANT,),
    ).fetchone()
    return int(row[0])


def main(ctx: Bench) -> dict[str, Any]:
    import httpx
    import psycopg

    from benchmarks.fig6_delivery import cpu_seconds, start_worker

    say(f"== Figure 7: health checks ({INTEGRATIONS} integrations over a {INTERVAL_SECONDS} s interval)")
    with common.uvicorn_server(
        ctx, "benchmarks.fast_provider:create_app", name="fast_provider", ready_path="/_count", workers=1
    ) as fast_url:
        env = common.sandbox_settings(fast_url, "BENCHFAST") | {
            "HEALTH_CHECK_MINUTES": str(INTERVAL_SECONDS / 60),
            "HEALTH_SCHEDULE_SECONDS": str(TICK_SECONDS),
            "HEALTH_RATE_PER_SECOND": str(RATE),
        }
        ctx.use_settings(**env)
        create_integrations(ctx, INTEGRATIONS)
        with psycopg.connect(ctx.libpq_url(), autocommit=True) as conn:
            worker = start_worker(ctx, env)
            try:
                began, cpu = time.monotonic(), cpu_seconds(worker.pid)
                first_second = int(time.time())
                done, all_done_at = 0, None
                # One interval (plus a tick: the first slots wait for the first tick), longer if the worker
                # lags, until every integration was checked once (at most a second interval).
                while time.monotonic() - began < INTERVAL_SECONDS + TICK_SECONDS or (
                    done < INTEGRATIONS and time.monotonic() - began < 2 * INTERVAL_SECONDS
                ):
                    if worker.poll() is not None:
                        log = (common.WORK / "fig6_worker.log").read_text()[-3000:]
                        raise RuntimeError("the worker exited: " + log)
                    time.sleep(5)
                    done = checked(conn)
                    if done >= INTEGRATIONS and all_done_at is None:
                        all_done_at = time.monotonic() - began
                    say(f"    {done}/{INTEGRATIONS} checked after {time.monotonic() - began:.0f} s")
                wall, used = time.monotonic() - began, cpu_seconds(worker.pid) - cpu
                rates = httpx.get(f"{fast_url}/_rates", timeout=10).json()
                load = os.getloadavg()[0]
            finally:
                common.stop(worker)
    result = {
        "checked": done,
        "all_done_at": all_done_at,
        "wall": wall,
        "cpu": used,
        "rates": rates,
        "since": first_second,
        "load": load,
    }
    write(result)
    return result


def write(r: dict[str, Any]) -> None:
    from tms_console.worker import CONCURRENCY

    lines = []
    for kind in KINDS:
        per_second = {int(s): n for s, n in r["rates"].get(kind, {}).items() if int(s) >= r["since"]}
        total = sum(per_second.values())
        span = range(min(per_second), max(per_second) + 1) if per_second else range(0)
        counts = [per_second.get(second, 0) for second in span]
        even = INTEGRATIONS / len(KINDS) * (2 if kind == "telegram" else 1) / INTERVAL_SECONDS
        mean = total / len(counts) if counts else 0
        peak, p99 = max(counts, default=0), common.pct(counts, 99)
        lines.append(f"| {kind} | {total} | {peak} | {p99:.0f} | {mean:.1f} | {even:.1f} |")
    share = r["cpu"] / r["wall"]
    cores = os.cpu_count() or 1
    per_check = r["cpu"] / max(r["checked"], 1) * 1000
    finished = (
        f"all {INTEGRATIONS} were checked {r['all_done_at']:.0f} s after the worker started"
        if r["all_done_at"] is not None
        else f"{r['checked']} of {INTEGRATIONS} were checked in {r['wall']:.0f} s"
    )
    common.write_section(
        "fig7",
        f"""## 7. Health checks spread over one interval (`fig7_health.py`)

{INTEGRATIONS} integrations of the six probing providers (one sixth each), checked by one
`python -m tms_console.worker` (concurrency {CONCURRENCY}) with the interval compressed to
{INTERVAL_SECONDS} s (HEALTH_CHECK_MINUTES={INTERVAL_SECONDS / 60:g}), the scheduler ticking every
{TICK_SECONDS} s and the pace at {RATE} checks/s per provider (HEALTH_RATE_PER_SECOND). The probes go to
the fast fake provider, which counts requests per provider and second (Telegram's check is two requests:
`getMe` and `getChat`). "Even" is what a perfect spread would send: the provider's checks over the
interval.

| provider | requests | peak requests/s | p99 of requests/s | mean requests/s | even |
|---|---|---|---|---|---|
{chr(10).join(lines)}

{finished.capitalize()} (one interval is {INTERVAL_SECONDS} s). The worker's CPU share over the
{r["wall"]:.0f} s: {share:.0%} of one core ({share / cores:.0%} of the machine's {cores} cores),
{per_check:.1f} ms of CPU per check. Load average at the end: {r["load"]:.1f} (other jobs shared the
machine).
""",
    )


if __name__ == "__main__":
    with common.bench() as bench_ctx:
        main(bench_ctx)
