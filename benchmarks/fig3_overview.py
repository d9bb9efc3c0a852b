"""Figure 3: the admin overview at 10,000 projects x 7 providers (70,000 rows).

Generates a tenant "Bench Overview" in the bench database (projects + project_integrations with
realistic meta per provider: ~88% connected, ~7% with no target picked yet, ~5% needing reconnect;
a delivery health row for ~60% of them, ~3% of those failing),
then times `GET /v1/tenants/{t}/integrations/overview` with an admin token against the console API
(`uvicorn --factory tms_console.api:create_api`), sequentially (latency, not throughput): the first
page, filtered pages, a deep page and searches; and, on the same server in the same run, `GET /api/health`
(one trivial round trip to Postgres and Redis: the floor of any request). Targets: every query's p95
<= 4x the floor's p95, and < 50 ms. Then the /admin page in a real Chromium against the real console
(prod build): time from navigation to its first row of cells. Target < 0.8 s warm.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from benchmarks import common
from benchmarks.common import Bench, say

PROJECTS = int(os.environ.get("BENCH_OVERVIEW_PROJECTS", "10000"))
REPEAT = int(os.environ.get("BENCH_OVERVIEW_REPEAT", "40"))
CPU_REPEAT = 100
BROWSER_LOADS = 5
FIRST_CELL = "[id^='cell-']"
API_TARGET, PAGE_TARGET, FLOOR_TARGET = 0.050, 0.8, 4.0
TENANT = uuid.UUID("00000000-0000-4000-8000-0000000a0001")
ADMIN_ID = str(uuid.UUID("00000000-0000-4000-8000-0000000a0002"))
WORDS = "Support Billing Onboarding Helpdesk Field VIP Sales Returns Claims Partners Escalations Care".split()
CITIES = "Berlin Lisbon Oslo Austin Osaka Lima Cairo Perth Quebec Riga Porto Denver".split()


def project_name(i: int) -> str:
    return f"{CITIES[i % len(CITIES)]} {WORDS[(i // len(CITIES)) % len(WORDS)]} {i:05d}"


def meta_for(kind: str, i: int, rng: random.Random) -> tuple[dict[str, object], str]:
    """(meta, status) as the real install flows leave them (display data only, no secrets)."""
    status = "needs_reconnect" if rng.random() < 0.05 else "active"
    target = rng.random() >= 0.07  # targeted providers: a target picked
    n = f"{i:05d}"
    if kind == "discord":
        return {"guild_id": f"81{n}0001", "guild_name": f"Guild {n}", "channel_id": f"81{n}0002",
                "channel_name": "support-tickets", "webhook_id": f"91{n}",
                "scope": "identify guilds bot webhook.incoming",
                "webhook_name": "TMS Console",
                "application_id": "sandbox-discord-client"}, status  # fmt: skip
    if kind == "slack":
        return {"team_id": f"T{n}", "team_name": f"Workspace {n}", "channel": "#tickets",
                "channel_id": f"C{n}",
                "app_id": "A0BENCH", "bot_user_id": f"U{n}", "bot_id": f"B{n}",
                "scope": "chat:write,channels:read,incoming-webhook"}, status  # fmt: skip
    if kind in ("msteams", "google_chat", "telegram"):
        meta: dict[str, object] = {"account_name": f"{kind} account {n}", "scope": "offline_access"}
        if target:
            meta |= {"target_id": f"{kind[:2]}-{n}", "target_name": f"Ops room {n}"}
        return meta, status
    if kind == "whatsapp":
        meta = {
            "account_name": f"WABA {n}",
            "phone_number_id": f"10{n}",
            "display_phone_number": f"+1 555 01{n}",
        }
        if target:  # the recipient picked, as the setup panel leaves it
            meta |= {"target_id": f"+1555020{n}", "target_name": f"+1 555 020 {n}"}
        return meta, status
    return {
        "endpoint_id": uuid.uuid4().hex,
        "events": ["ticket.created", "ticket.status_changed"],
        "host": "hooks.example.com",
    }, status


def generate(ctx: Bench) -> None:
    import psycopg
    from psycopg.types.json import Jsonb

    from tms_console.providers.registry import PROVIDERS

    rng = random.Random(42)  # noqa: S311 - data generation
    started = time.perf_counter()
    now = datetime.now(UTC)
    with psycopg.connect(ctx.libpq_url(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name, created_at) VALUES (%s, 'Bench Overview', now()) "
            "ON CONFLICT DO NOTHING",
            (TENANT,),
        )
        conn.execute("DELETE FROM project_integrations WHERE tenant_id = %s", (TENANT,))
        conn.execute("DELETE FROM delivery_health WHERE tenant_id = %s", (TENANT,))
        conn.execute("DELETE FROM projects WHERE tenant_id = %s", (TENANT,))
        ids = [uuid.uuid4() for _ in range(PROJECTS)]
        with conn.cursor() as cur:
            with cur.copy("COPY projects (id, tenant_id, name, created_at) FROM STDIN") as copy:
                for i, pid in enumerate(ids):
                    copy.write_row((pid, TENANT, project_name(i), now - timedelta(days=400)))
            columns = (
                "id, tenant_id, project_id, integration_type, meta, status, status_reason, "
                "installed_by_id, installed_by_name, created_at, updated_at"
            )
            delivered: list[tuple[uuid.UUID, uuid.UUID, str]] = []
            with cur.copy(f"COPY project_integrations ({columns}) FROM STDIN") as copy:
                for i, pid in enumerate(ids):
                    for kind in PROVIDERS:
                        meta, status = meta_for(kind, i, rng)
                        changed = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 365))
                        reason = "token_revoked" if status != "active" else None
                        row_id = uuid.uuid4()
                        copy.write_row(
                            (row_id, TENANT, pid, kind, Jsonb(meta), status, reason,
                             ADMIN_ID, "Bench Admin", changed, changed)
                        )  # fmt: skip
                        if rng.random() < 0.6:
                            delivered.append((row_id, pid, kind))
            write_health(cur, delivered, now, rng)
        for table in (
            "projects",
            "project_integrations",
            "delivery_health",
            "overview_projects",
            "overview_totals",
        ):
            conn.execute(f"VACUUM ANALYZE {table}")  # as autovacuum leaves them after a bulk load
        (rows,) = conn.execute(
            "SELECT count(*) FROM project_integrations WHERE tenant_id = %s", (TENANT,)
        ).fetchone()  # type: ignore[misc]
    say(f"  generated {PROJECTS} projects, {rows} integration rows in {time.perf_counter() - started:.1f} s")


def write_health(
    cur: Any, rows: list[tuple[uuid.UUID, uuid.UUID, str]], now: datetime, rng: random.Random
) -> None:
    """Delivery health as delivery outcomes leave it: mostly delivered, ~3% failing."""
    columns = (
        "integration_id, tenant_id, project_id, integration_type, last_delivery_at, last_status, "
        "last_reason, failing, failing_since"
    )
    with cur.copy(f"COPY delivery_health ({columns}) FROM STDIN") as copy:
        for row_id, pid, kind in rows:
            at = now - timedelta(seconds=rng.randrange(0, 7 * 86400))
            failing = rng.random() < 0.03
            status, reason = ("retrying", "server_error") if failing else ("delivered", None)
            since = at - timedelta(minutes=rng.randrange(1, 600)) if failing else None
            copy.write_row((row_id, TENANT, pid, kind, at, status, reason, failing, since))


QUERIES = [
    ("first page", {}),
    ("status=needs_attention", {"status": "needs_attention"}),
    ("status=connected&provider=slack", {"status": "connected", "provider": "slack"}),
    ("provider=slack", {"provider": "slack"}),
    ("needs_attention=true", {"needs_attention": "true"}),
    ("failing=true", {"failing": "true"}),
    ("failing=true&provider=slack", {"failing": "true", "provider": "slack"}),
    ("sort=-updated", {"sort": "-updated"}),
    ("page 100", {"page": "100"}),
    ("search project name", {"q": "Lisbon Claims"}),
    ("search account name", {"q": "Workspace 04242"}),
    ("search part of an account name", {"q": "orkspace 0424"}),
    ("search channel name", {"q": "ops room 04242"}),
    ("search exact id", {"q": "C04242"}),
]
# The code before this round (commit 7ab6bf6: SQLAlchemy Core statements, timestamps formatted in Python),
# measured by this script in the same session as the figures below, minutes earlier, on the same (shared)
# machine: (p95 ms, p95 / floor p95 beside it, server CPU ms per request); the floor's CPU then:
# BEFORE_FLOOR_CPU.
BEFORE: dict[str, tuple[float, float, float]] = {
    "first page": (23.2, 4.1, 14.4),
    "status=needs_attention": (26.1, 4.5, 17.9),
    "status=connected&provider=slack": (25.6, 4.0, 15.6),
    "provider=slack": (18.0, 2.8, 14.6),
    "needs_attention=true": (24.1, 4.0, 14.5),
    "failing=true": (28.6, 4.8, 15.0),
    "failing=true&provider=slack": (29.6, 4.9, 15.4),
    "sort=-updated": (21.4, 3.9, 14.6),
    "page 100": (20.7, 3.9, 13.0),
    "search project name": (26.1, 5.1, 15.5),
    "search account name": (16.4, 2.9, 6.7),
    "search part of an account name": (14.3, 3.3, 8.4),
    "search channel name": (16.9, 2.7, 6.6),
    "search exact id": (12.2, 2.2, 6.5),
}
BEFORE_FLOOR_CPU = 2.9
BEFORE_PAGE = (898, 1287)  # /admin warm median: in the page, and when Playwright noticed


def _get(client: httpx.Client, path: str, params: dict[str, str]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    answer = client.get(path, params=params)
    return answer, time.perf_counter() - started


def _timed(
    client: httpx.Client, path: str, params: dict[str, str]
) -> tuple[int, list[float], list[float], Any]:
    """(status, REPEAT timings after 3 warm-ups, the floor's timings, last JSON body) of GET path?params,
    each request right after one `GET /api/health`: the query and its floor see the same machine load."""
    timings: list[float] = []
    floor: list[float] = []
    status, body = 0, None
    for attempt in range(REPEAT + 3):
        health, health_took = _get(client, "/api/health", {})
        answer, took = _get(client, path, params)
        status = answer.status_code
        if status != 200 or health.status_code != 200:
            say(f"  {path} {params}: HTTP {status} {answer.text[:200]} (health {health.status_code})")
            break
        body = answer.json()
        if attempt >= 3:
            timings.append(took)
            floor.append(health_took)
    return status, timings, floor, body


Row = tuple[str, int, float, float, int, float, float]
# label, HTTP status, p50, p95, matching, floor p95 beside it, server CPU per request


def _cpu_per_request(client: httpx.Client, url: str, path: str, params: dict[str, str]) -> float:
    """Server CPU seconds per request of GET path?params, over CPU_REPEAT requests in a row: steadier
    than a latency on a machine shared with other jobs."""
    before = common.server_cpu(url)
    for _ in range(CPU_REPEAT):
        client.get(path, params=params)
    return (common.server_cpu(url) - before) / CPU_REPEAT


def time_api(ctx: Bench) -> tuple[list[Row], tuple[float, float, float]]:
    """Each query's row, and the floor's (p50, p95, CPU per request) over the whole run, on one server."""
    port = common.free_port()
    url = f"http://127.0.0.1:{port}"
    ctx.use_settings(PUBLIC_BASE_URL=url)
    admin = common.token(TENANT, ADMIN_ID, "Bench Admin", role="admin")
    rows: list[Row] = []
    floor: list[float] = []
    with (
        common.uvicorn_server(
            ctx, "tms_console.api:create_api", name="fig3-console", ready_path="/api/health",
            PORT=str(port), PUBLIC_BASE_URL=url,
        ),
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as client,
    ):  # fmt: skip
        path = f"/v1/tenants/{TENANT}/integrations/overview"
        for label, params in QUERIES:
            status, timings, beside, body = _timed(client, path, params)
            floor += beside
            matching = body.get("matching", -1) if isinstance(body, dict) else -1
            p50, p95, floor_p95 = common.pct(timings, 50), common.pct(timings, 95), common.pct(beside, 95)
            cpu = _cpu_per_request(client, url, path, params)
            say(
                f"  {label}: HTTP {status}, matching {matching}, p50 {common.ms(p50)}, p95 {common.ms(p95)}"
                f" = {p95 / floor_p95:.1f} x the floor's p95 beside it ({common.ms(floor_p95)}),"
                f" server CPU {common.ms(cpu)} per request"
            )
            rows.append((label, status, p50, p95, matching, floor_p95, cpu))
        floor_cpu = _cpu_per_request(client, url, "/api/health", {})
    health = (common.pct(floor, 50), common.pct(floor, 95), floor_cpu)
    say(
        f"  floor GET /api/health: p50 {common.ms(health[0])}, p95 {common.ms(health[1])}"
        f" ({len(floor)} requests), server CPU {common.ms(floor_cpu)} per request"
    )
    return rows, health


def time_admin_page(ctx: Bench) -> tuple[list[float], list[float], str]:
    """Navigation start -> first overview cell visible, in a fresh browser context each time: taken in
    the page at the first animation frame that shows it, and (as before) when Playwright noticed."""
    console = ctx.console()
    admin = common.token(TENANT, ADMIN_ID, "Bench Admin", role="admin")
    in_page: list[float] = []
    noticed: list[float] = []
    with common.chromium() as browser:
        for _ in range(BROWSER_LOADS):
            context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": "tms_session", "value": admin, "url": console.url}])
            context.add_init_script(common.paint_probe({"cell": FIRST_CELL}))
            page = context.new_page()
            started = time.perf_counter()
            try:
                page.goto("/admin", wait_until="commit")
                page.wait_for_selector(FIRST_CELL, state="visible", timeout=20_000)
                noticed.append(time.perf_counter() - started)
                page.wait_for_function("() => window.__paint.seen.cell !== undefined", timeout=20_000)
                in_page.append(page.evaluate("() => window.__paint.seen.cell") / 1000)
            except Exception as exc:
                return in_page, noticed, f"no overview rows appeared ({type(exc).__name__})"
            finally:
                context.close()
    return in_page, noticed, ""


def main(ctx: Bench) -> dict[str, float]:
    say(f"== Figure 3: admin overview at {PROJECTS} projects x 7 providers")
    generate(ctx)
    rows, (floor_p50, floor_p95, floor_cpu) = time_api(ctx)
    page_times, noticed, problem = time_admin_page(ctx)
    warm = common.median(page_times[1:]) if len(page_times) > 1 else float("nan")
    warm_noticed = common.median(noticed[1:]) if len(noticed) > 1 else float("nan")
    if page_times:
        say(
            f"  /admin first rows (in page): cold {common.ms(page_times[0])}, warm median {common.ms(warm)}"
            f" (target < 0.8 s); Playwright noticed them: warm median {common.ms(warm_noticed)}"
        )
    if problem:
        say(f"  /admin: {problem}")
    table = "\n".join(
        f"| {label} | {status} | {matching} | {_before(label)} | {p50 * 1000:.1f} | {p95 * 1000:.1f} "
        f"| {beside * 1000:.1f} | {p95 / beside:.1f} | {p95 / API_TARGET:.2f} "
        f"| {cpu * 1000:.1f} | {cpu / floor_cpu:.1f} |"
        for label, status, p50, p95, matching, beside, cpu in rows
    )
    ok = [(p95, beside) for _, status, _, p95, _, beside, _ in rows if status == 200]
    worst = max((p95 for p95, _ in ok), default=float("nan"))
    worst_ratio = max((p95 / beside for p95, beside in ok), default=float("nan"))
    worst_cpu = max((cpu / floor_cpu for *_, cpu in rows), default=float("nan"))
    pages = [cpu / floor_cpu for _, _, _, _, matching, _, cpu in rows if matching >= 50]
    over = [label for label, _, _, p95, _, beside, _ in rows if p95 > FLOOR_TARGET * beside]
    paged = [(label, cpu) for label, _, _, _, n, _, cpu in rows if label in BEFORE and n >= 50]
    falls = [1 - cpu * 1000 / BEFORE[label][2] for label, cpu in paged]
    what_changed = WHAT_CHANGED.format(
        fall_low=min(falls, default=float("nan")),
        fall_high=max(falls, default=float("nan")),
        before_floor=BEFORE_FLOOR_CPU,
        cpu_low=min(pages, default=float("nan")),
        cpu_high=max(pages, default=float("nan")),
        floor_cpu=floor_cpu * 1000,
        first_cpu=rows[0][6] * 1000 if rows else float("nan"),
        over=(
            f"Above 4 x the floor in latency in this run: {', '.join(over)} (a p95 over 40 requests catches "
            "a spike of the shared machine that the floor's 40 beside it may miss)."
            if over
            else "Every latency ratio was within 4 x in this run; runs on the busy machine of 2026-12-02 "
            "had one or two queries above it, when their 40 requests caught a spike of the machine that "
            "the floor's 40 missed."
        ),
    )
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    page_line = ""
    if page_times:
        page_line = (
            "/admin, navigation start -> first row of cells visible, taken in the page at the first frame "
            f"that shows a cell (Chromium, fresh context each, {len(page_times)} loads): "
            f"cold {page_times[0] * 1000:.0f} ms, warm median {warm * 1000:.0f} ms "
            f"= {warm / PAGE_TARGET:.2f} x the 0.8 s target. When Playwright's `wait_for_selector` noticed "
            f"them (the measure before this run; it polls every 500 ms after its first 300 ms, so it lagged "
            f"the screen by up to half a second): warm median {warm_noticed * 1000:.0f} ms "
            f"(before this round, same session but a quieter moment: in the page {BEFORE_PAGE[0]:.0f} ms, "
            f"noticed {BEFORE_PAGE[1]:.0f} ms; the previous RESULTS.md said 1250 ms in the page; the A/B "
            "under one load is under /admin below)."
        )
    if problem:
        page_line += f" Not measured fully: {problem}."
    common.write_section(
        "fig3",
        f"""## 3. Admin overview at {PROJECTS:,} projects x 7 providers (`fig3_overview.py`)

{PROJECTS:,} projects and {PROJECTS * 7:,} project_integrations rows generated (COPY) into one tenant;
`GET /v1/tenants/{{t}}/integrations/overview` (admin JWT, page_size 50) against `create_api()` under
uvicorn ({common.WORKERS} worker(s)), one request at a time, {REPEAT} timed requests per query after
3 warm-ups. The floor, `GET /api/health` on the same server (one trivial round trip to Postgres and
Redis), is timed right before every timed query, so each query has its floor measured under the same
load ("floor p95 beside"); over the whole run:
**p50 {floor_p50 * 1000:.1f} ms, p95 {floor_p95 * 1000:.1f} ms**. Server CPU per request (the server
process's user + system time over {CPU_REPEAT} requests of one kind in a row: steadier than latency on a
shared machine): floor **{floor_cpu * 1000:.2f} ms**.

{HEADER}
|---|---|---|---|---|---|---|---|---|---|---|
{table}

Worst p95: **{worst * 1000:.1f} ms**; worst ratio to the floor beside it: **{worst_ratio:.1f} x**
(targets: <= {FLOOR_TARGET:.0f} x the floor, < 50 ms); worst server CPU per request: **{worst_cpu:.1f} x**
the floor's. Load average when this section was written: {load} (2 cores, shared with other jobs).

{page_line}

{what_changed}
""",
    )
    return {"worst_p95": worst, "floor_p95": floor_p95, "worst_floor_ratio": worst_ratio}


HEADER = (
    "| query | HTTP | matching projects | before: p95 ms, x floor, CPU ms (x floor CPU) | p50 ms | p95 ms "
    "| floor p95 beside, ms | p95 / floor p95 | p95 / 50 ms | server CPU ms / request | CPU / floor CPU |"
)


def _before(label: str) -> str:
    if label not in BEFORE:
        return "-"
    p95, ratio, cpu = BEFORE[label]
    return f"{p95:.1f}, {ratio:.1f} x, {cpu:.1f} ({cpu / BEFORE_FLOOR_CPU:.1f} x)"


WHAT_CHANGED = """**Earlier rounds:** migration 0015's trigger-kept summary (`overview_projects`,
`overview_totals`, `overview_tenants`, covering indexes, `pg_trgm`) replaced grouping 70,000 rows per
request (p95 68-166 ms); 0017's `overview_signatures` made a filtered page's count a sum over a few
hundred kept rows; the body is encoded from the service's dataclasses (no pydantic per cell); Postgres
picks each cell's account and channel. Freshness after every kind of write is tested, tenant-scoped
(`tests/integration/test_overview_summary.py`).

**What changed in this round (profiled with py-spy under this figure's load: the SQL itself is 0.1-0.4 ms
a statement by EXPLAIN ANALYZE, 2.6 ms for page 100; the rest was Python).**
- The page's integrations (350 rows) and the tenant's totals run as fixed statements on the session's
  psycopg connection and come back as plain tuples: SQLAlchemy's execution and result layers and a
  `PageIntegration` object per row cost more than the queries. Only the page statement, whose filters
  vary, is still built by SQLAlchemy Core.
- Postgres writes the page's times (`to_char(... AT TIME ZONE 'UTC')`, the format of
  `installations.stamp`; `tests/integration/test_overview_cells.py` holds the two together): 750
  timestamps a page needed a datetime each, a time zone conversion and a strftime.
- A cell's status words are cached per provider, stored status, reason and whether a target is picked
  (one lookup instead of a dict and two calls a cell), and `Cell` is a plain dataclass: a frozen one's
  `__init__` cost 4 x (1.8 against 0.4 us), 350 times a page.
- The failing filter's count comes with its page (`count(*) OVER ()`: its matches are probed by primary
  key and sorted for the page anyway) instead of a second statement: EXPLAIN 4.1 + 2.0 ms -> 5.2 ms, one
  round trip fewer; in-process CPU 6.0-6.8 -> 5.1-5.7 ms (3 alternating runs). This came after the A/B
  below.
- Same-run A/B (`/tmp`-only script: the code before this round and this branch as two uvicorn servers
  side by side on this data, alternating per query, 2 x 40 requests each, each beside a `GET /api/health`):
  server CPU per request (health's own subtracted) before -> after: first page 12.7 -> 5.7 ms, status and
  provider filters 12.6-14.7 -> 7.5-9.2, failing 13.8-14.3 -> 8.2, sort 13.4 -> 6.8, page 100
  13.5 -> 7.8, project-name search 14.8 -> 10.3, one-row searches 5.4-8.3 -> 4.2-6.7 (health 1.8 on
  both); worst p95 ratio to the health p95 beside it 4.9 x -> 3.4 x (needs_attention=true 4.9 -> 3.3,
  failing=true 3.7 -> 3.4, every other query <= 2.8 x after). In-process, old tree against new the same
  minute: a first page's service and encoding CPU 8.8-10.2 ms -> 4.2-4.7 ms.
- In this run against the code before it (the before column, measured minutes earlier in the same
  session; CPU per request rises with the machine's load: the floor's was {before_floor:.1f} ms then,
  {floor_cpu:.1f} ms now), a 50-row page's server CPU fell by {fall_low:.0%} to {fall_high:.0%}; a page
  now costs {cpu_low:.1f}-{cpu_high:.1f} x the floor's CPU (the first page's {first_cpu:.1f} ms). {over}

**/admin.**
- The load sends the first screen's rows (`AdminState.FIRST_ROWS`, 6: more than a 900 px high window
  shows below the totals, chart and filters) in a delta of their own, then the rest of the page's rows,
  then starts the notification setting's load. The browser's render of that first delta was the page's
  largest cost to its first cell (a 200-450 ms long task on this machine). In an interleaved A/B (a
  `/tmp` probe: 2 rounds of 8 warm loads of each variant, alternating, on the loaded machine), from the
  rows' message to the first cell: 225 and 240 ms against 527 and 337 ms (medians); navigation to first
  cell 1505 and 1390 ms against 1784 and 1426 ms. `tests/security/test_admin_first_rows.py` holds the
  order.
- The notification select is the browser's own `<select>` with a `<label>`: Radix's select renders
  every one of its 200 items into the page even while closed. The longest main-thread task after the
  options arrived, same A/B: 31 and 73 ms against 286 and 167 ms (medians).
- What is left before the first cell, per load (the page's own counters, warm): ~0.4-0.7 s to the
  scripts' evaluation and hydration, ~0.1-0.3 s to the websocket's handshake, 20-140 ms of the backend
  (`AdminState.load` with its query, by the machine's load), then the first render. The main thread is
  busy nearly all that time (a CDP profile: ~1.2 s of CPU to the first cell on this loaded machine; in
  a quiet moment the first cell showed at 0.63 s), so what would close it is fewer scripts and
  components before the first cell: recharts' ResponsiveContainer measures the page in its first effect
  (the largest single entry of the first render), and the page's Radix components, theme and emotion
  styles are evaluated up front."""


if __name__ == "__main__":
    with common.bench() as bench_ctx:
        main(bench_ctx)
