"""Figure 1: OAuth callback throughput and p50/p99 under 50 concurrent clients, console vs FLOOR, for
Slack and Discord separately.

Three servers, same command and flags (benchmarks.common.uvicorn_server; BENCH_SERVER=granian serves the
console and the floor with production's server instead of uvicorn):
- the sandbox providers (`sandbox:app_from_env`, on their own origin), answering the provider calls of both;
- the console API (create_api()): GET /api/public/integrations/{slack,discord}/callback;
- the FLOOR (benchmarks.floor_app): GETDEL + the provider calls the console must make inside the request
  (Discord: the token POST; Slack: `oauth.v2.access` then `auth.test`) + INSERT ... ON CONFLICT.

Per round, provider and target: N unique states are issued through the console's own StateStore (Redis,
the key and JSON the callback consumes), each approved at the sandbox's real consent form (a POST
per state; Discord codes live 100 s, so they are minted right before the target's run), then the N
callbacks are fired by 50 concurrent clients. Every state names its own project, so each callback
is an INSERT of a new row, for the console and the floor alike. Target (issue 12): console >= 0.85 x
floor with a p99 no worse than the floor's. BENCH_PROFILE=1 samples the console with py-spy.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

from benchmarks import common
from benchmarks.common import Bench, say

N = int(os.environ.get("BENCH_CALLBACKS", "1200"))
WARMUP = 100
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
TARGET = 0.85
PROVIDERS = ("slack", "discord")
PROFILE_HEAD = "Profile of the console under this load (py-spy, BENCH_PROFILE=1; share of samples):\n"
TENANT = uuid.UUID("00000000-0000-4000-8000-00000000c0b1")
USER_ID, USER_NAME = str(uuid.UUID("00000000-0000-4000-8000-00000000c0b2")), "Bench Agent"
# What earlier runs measured and what changed: kept in the section beside this run's figures.
HISTORY = """**Before / after** (same script; the machine was shared with two other engineers' test runs and
benchmarks throughout, load 5-9 on 2 cores: a server's CPU per callback moved by up to 50% between runs,
the floor's included: compare ratios within one run, and the A/B table below above all):

| | first pass (13:46) | before (7883921, 16:05 run) | after (this run: statement pool, worker job) |
|---|---|---|---|
| Slack console / floor throughput | 0.61 | 0.50 | {slack_ratio:.2f} |
| Slack, CPU per callback, ms: console (floor) | 6.03 (3.99) | 7.41 (4.07) | {sc:.2f} ({sf:.2f}) |
| Slack, floor's / console's CPU per callback | 0.66 | 0.55 | {slack_cpu_ratio:.2f} |
| Discord console / floor throughput | 0.31 | 0.33 | {discord_ratio:.2f} |
| Discord, CPU per callback, ms: console (floor) | 9.80 (2.57) | 11.08 (2.94) | {dc:.2f} ({df:.2f}) |
| Discord, floor's / console's CPU per callback | 0.26 | 0.27 | {discord_cpu_ratio:.2f} |

A/B in one run (a `/tmp` copy of 7883921 beside this branch and the floor, uvicorn, 4 alternating rounds
of 500 callbacks per provider, median CPU per callback, ms; the floor's / the console's):

| | before (7883921) | after (this branch) | floor | floor / before | floor / after |
|---|---|---|---|---|---|
| Slack | 9.66 | 8.23 | 6.23 | 0.64 | 0.76 |
| Discord | 13.82 | 11.95 | 4.41 | 0.32 | 0.37 |

Profile before (py-spy, 7883921, Slack): the provider calls 35% on the stack
(`_exchange_and_enrich`; httpcore's pool bookkeeping `_assign_requests_to_connections` 11% of it), saving
16% (`_save_first`: the SQLAlchemy session, its pre-ping and the statement: `greenlet_spawn` 12%), the
state's consumption 1.5%, the log line 1%; top self entries `_SelectorSocketTransport.write` 12% and
`BaseCursor._send_query_prepared` 8%. Discord: the after-redirect task 19% (the two lookups 9.5%, the
meta update through an ORM session 7.8%). After the statement pool (the 16:53 run's round 2, before
the worker job): Slack's saving 12% with no `greenlet_spawn` left (the statement itself 9%); Discord's
after-redirect task 11% (the lookups 5.5%, the meta update 4.0%), now gone from the web process.

**What changed (this pass).**
- The first-install statement (`persistence/installs.py`) and the after-redirect meta update
  (`repository.add_meta`) run on a pooled autocommit psycopg connection (`persistence/db.py`
  `statement()`, built once per process; services use `unit_of_work.one_statement()`): no ORM session, no
  greenlet hand-off, no pre-ping round trip: one round trip per statement, as the floor. A connection the
  server dropped is found at checkout without a round trip (the idle socket is readable: the server's
  FATAL and end of file) and replaced; one that dies during the statement fails it as an outage
  (`not_saved`), with nothing written (one statement, atomic). The same check replaces the pre-ping of
  the SQLAlchemy pool (every other unit of work of the web process; the worker's pool, which had no
  pre-ping, gets the check too).
- Discord's display-only details (the channel's name, the installing user's id) are fetched by the job
  worker, no longer by a background task of the web process: the first-install statement also queues an
  `install_details` job (ids only; the worker opens the row's sealed credentials), on its own `installs`
  queue. Its two provider calls and its meta update leave the web process, and a web process dying right
  after the redirect no longer loses them. Same-machine A/B right before this run (shortened runs, 400
  callbacks, alternating): Discord's CPU per callback 13.5 and 14.8 ms before, 8.7 and 8.4 ms after
  (floor's / console's 0.33-0.40 -> 0.56-0.62); Slack, unchanged, 9.9-11.6 ms in all four. The worker
  does not run during this figure (the queued jobs wait), so its CPU is not counted here.
- First pass (13:46): a first install in one statement; Discord's channel and user lookups after the
  redirect; the rate limit counted in the state's Lua script; a kept pool of 15; an honest floor.

**Why the targets are missed, by how much, and what would close them.**
- Slack: {slack_ratio:.2f} of the floor's throughput in this run, but with a higher p99, and
  {slack_cpu_ratio:.2f} of it in CPU per callback (needs 0.85 with a p99 no worse). Our own code on
  the path is now small (the state's script, AES-GCM, the audit event's model, one log line, the redirect:
  a few percent of samples together); what is left is shared machinery the console drives harder than the
  floor: FastAPI's routing, parameter validation and the middleware stack, our provider wrapper (a
  streamed, bounded read under one deadline) and a larger statement (row, credentials and audit row, 14
  parameters). Both servers also pay httpcore's pool bookkeeping: it closes idle connections whenever
  the pool holds more than `max_keepalive_connections` (20) in all, so 50 concurrent callbacks keep
  reconnecting to the provider; raising it to 100 in both would help both (left alone: a shared cost).
- Discord: {discord_cpu_ratio:.2f} in CPU (needs 0.85). Its channel and user lookups now run in the
  worker, so the web process makes one provider call, as the floor does; what is left is the same fixed
  cost as Slack's (FastAPI, middlewares, the provider wrapper, a larger statement that also queues the
  job), and it weighs twice as much against a floor that makes one call instead of two. Closing it would
  take a route leaner than FastAPI's for the callback (a plain Starlette endpoint sharing the services).
- p99: above the floor's whenever the console's throughput is below it (the same 50 clients queue
  longer behind a slower server)."""


def _create_projects(ctx: Bench, count: int) -> list[uuid.UUID]:
    import psycopg

    ids = [uuid.uuid4() for _ in range(count)]
    with psycopg.connect(ctx.libpq_url(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name, created_at) VALUES (%s, 'Bench Callback', now()) "
            "ON CONFLICT DO NOTHING",
            (TENANT,),
        )
        with (
            conn.cursor() as cur,
            cur.copy("COPY projects (id, tenant_id, name, created_at) FROM STDIN") as copy,
        ):
            for i, pid in enumerate(ids):
                copy.write_row((pid, TENANT, f"Callback project {i:05d}", "now"))
    return ids


async def _mint(ctx: Bench, provider_key: str, projects: list[uuid.UUID]) -> list[str]:
    """One approved (state, code) per project: issued state, consent form POSTed at the sandbox.

    Returns the callback query strings the sandbox redirected to."""
    import aiohttp
    import redis.asyncio as aioredis

    from tests.utils.forms import click
    from tms_console.oauth import oauth2
    from tms_console.providers.config import resolve
    from tms_console.providers.registry import get_provider
    from tms_console.security.state_store import PendingInstall, StateStore

    redis = aioredis.Redis.from_url(ctx.redis_url)
    store = StateStore(redis, ttl_seconds=600)
    provider = resolve(get_provider(provider_key))  # type: ignore[arg-type]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        template_url = oauth2.authorize_url(provider, state="x" * 43, code_challenge=None)
        async with http.get(template_url) as page:
            html = await page.text()
        method, action, form = click(html, template_url, "approve")

        async def one(project: uuid.UUID) -> str:
            pending = PendingInstall(str(TENANT), str(project), provider_key, USER_ID, USER_NAME)
            state = await store.issue(pending)
            async with http.request(
                method, action, data=form | {"state": state}, allow_redirects=False
            ) as answer:
                location = answer.headers["location"]
            query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
            assert query.get("state") == state and query.get("code"), location
            return urlencode(query)

        queries = await common.gather_limited([lambda p=p: one(p) for p in projects], limit=20)
    await redis.aclose()
    return queries


async def _run_target(
    ctx: Bench, label: str, provider: str, base: str, projects: list[uuid.UUID]
) -> tuple[common.LoadResult, dict[str, list[tuple[str, float]]]]:
    queries = await _mint(ctx, provider, projects)
    requests = [(f"{base}?{q}", {"User-Agent": "tms-bench"}) for q in queries]
    await common.run_load(label + " warm-up", requests[:WARMUP], expect=303, location_has="status=success")
    server = base.split("/", 3)[:3]
    with common.profiled("/".join(server), f"fig1-{label.replace(' ', '-')}") as top:
        cpu = common.server_cpu("/".join(server))
        result = await common.run_load(label, requests[WARMUP:], expect=303, location_has="status=success")
        result.cpu = common.server_cpu("/".join(server)) - cpu
    say("  " + result.line())
    return result, top


def _summary(runs: list[common.LoadResult]) -> dict[str, float]:
    ok, elapsed = sum(r.ok for r in runs), sum(r.elapsed for r in runs)
    latencies = [x for r in runs for x in r.latencies]
    return {
        "rps": ok / elapsed if elapsed else 0.0,
        "p50": common.pct(latencies, 50),
        "p99": common.pct(latencies, 99),
        "ok": ok,
        "bad": sum(sum(n for s, n in r.statuses.items() if s != 303) + r.errors for r in runs),
        "cpu_ms": 1000 * sum(r.cpu for r in runs) / ok if ok else 0.0,
    }


def _profile_text(profiles: dict[str, dict[str, list[tuple[str, float]]]]) -> str:
    """The console's py-spy top entries per provider (BENCH_PROFILE=1), as a Markdown list."""
    lines = []
    for label, top in profiles.items():
        if not top.get("self"):
            continue
        samples = int(top["samples"][0][1])
        own = "; ".join(f"`{frame}` {share:.0%}" for frame, share in top["self"][:8])
        total = "; ".join(f"`{frame}` {share:.0%}" for frame, share in _ours(top["total"])[:10])
        lines.append(f"- {label} ({samples} samples): self: {own}. On the stack (ours): {total or '-'}.")
    return "\n".join(lines)


def _ours(entries: list[tuple[str, float]]) -> list[tuple[str, float]]:
    return [(frame, share) for frame, share in entries if _is_ours(frame)]


def _is_ours(frame: str) -> bool:
    return "(tms_console/" in frame


def main(ctx: Bench) -> dict[str, float]:
    say(f"== Figure 1: callback throughput, {common.CONCURRENCY} clients, {N} callbacks x {ROUNDS} rounds")
    console_port = common.free_port()
    console_url = f"http://127.0.0.1:{console_port}"
    urls = {"PUBLIC_BASE_URL": console_url}
    ctx.use_settings(**urls)
    per_round = N + WARMUP
    projects = _create_projects(ctx, 2 * len(PROVIDERS) * ROUNDS * per_round)
    results: dict[tuple[str, str], list[common.LoadResult]] = {}
    profiles: dict[str, dict[str, list[tuple[str, float]]]] = {}
    with (
        common.sandbox_server(ctx, console_url),
        common.uvicorn_server(
            ctx, "tms_console.api:create_api", name="fig1-console", ready_path="/api/health",
            server=common.SERVER, PORT=str(console_port), **urls,
        ),
        common.uvicorn_server(
            ctx, "benchmarks.floor_app:create_floor", name="fig1-floor", ready_path="/health",
            server=common.SERVER, **urls,
        ) as floor_url,
    ):  # fmt: skip
        chunks = [projects[i : i + per_round] for i in range(0, len(projects), per_round)]
        for round_no in range(ROUNDS):
            say(f" round {round_no + 1}")
            for provider in PROVIDERS:
                targets = [
                    ("console", f"{console_url}/api/public/integrations/{provider}/callback"),
                    ("floor", f"{floor_url}/floor/callback/{provider}"),
                ]
                if round_no % 2:
                    targets.reverse()  # alternate who goes first
                for name, base in targets:
                    label = f"{provider} {name}"
                    result, top = asyncio.run(_run_target(ctx, label, provider, base, chunks.pop()))
                    results.setdefault((provider, name), []).append(result)
                    if name == "console" and top and label not in profiles:
                        profiles[label] = top
    summary = {key: _summary(runs) for key, runs in results.items()}
    ratios = {p: summary[(p, "console")]["rps"] / (summary[(p, "floor")]["rps"] or 1) for p in PROVIDERS}
    p99_ok = {p: summary[(p, "console")]["p99"] <= summary[(p, "floor")]["p99"] for p in PROVIDERS}
    for p in PROVIDERS:
        verdict = "meets" if ratios[p] >= TARGET and p99_ok[p] else "misses"
        say(f" {p}: console/floor throughput = {ratios[p]:.2f}, p99 no worse: {p99_ok[p]} ({verdict})")
    profile_text = _profile_text(profiles)
    if profile_text:
        say(profile_text)
    rows = "\n".join(
        f"| {provider} | {name} | {s['ok']} | {s['bad']} | {s['rps']:.0f} "
        f"| {s['p50'] * 1000:.1f} | {s['p99'] * 1000:.1f} | {s['cpu_ms']:.2f} |"
        for (provider, name), s in summary.items()
    )
    cpu_ratios = {
        p: summary[(p, "floor")]["cpu_ms"] / (summary[(p, "console")]["cpu_ms"] or 1) for p in PROVIDERS
    }
    for p in PROVIDERS:
        say(f" {p}: floor/console CPU per callback = {cpu_ratios[p]:.2f}")
    cpu_text = "; ".join(f"{p}: {cpu_ratios[p]:.2f}" for p in PROVIDERS)
    history = HISTORY.format(
        **{f"{p}_ratio": ratios[p] for p in PROVIDERS},
        **{f"{p}_cpu_ratio": cpu_ratios[p] for p in PROVIDERS},
        **{f"{p[0]}{n[0]}": summary[(p, n)]["cpu_ms"] for p in PROVIDERS for n in ("console", "floor")},
    )
    verdicts = "; ".join(
        f"{p}: **{ratios[p]:.2f}**, console p99 {'<=' if p99_ok[p] else '>'} floor p99 "
        f"({'meets' if ratios[p] >= TARGET and p99_ok[p] else 'misses'})"
        for p in PROVIDERS
    )
    common.write_section(
        "fig1",
        f"""## 1. OAuth callback under {common.CONCURRENCY} concurrent clients (`fig1_callback.py`)

Slack and Discord callbacks with unique states (issued through the console's StateStore, approved at
the sandbox's consent form), {ROUNDS} rounds x {N} measured callbacks per provider and target after
{WARMUP} warm-up ones, targets alternating. Console = `{common.SERVER}` serving `tms_console.api:create_api`;
FLOOR = a bare Starlette handler (`floor_app.py`: GETDEL, the provider calls the console makes inside
the request, to the same sandbox: Discord's token POST; Slack's `oauth.v2.access` then `auth.test`;
then INSERT ... ON CONFLICT); both with {common.WORKERS} worker(s) and identical flags (BENCH_SERVER); the
sandbox is a third uvicorn server (1 worker). The console additionally rate-limits, checks the state's
binding, encrypts the tokens (AES-GCM, AAD = the row), writes the credentials and an audit event, logs
one line per callback, and (Discord) queues the worker's job that looks up the channel's name and
the user's id (not run during the figure).

| provider | target | callbacks (303) | other answers | callbacks/s | p50 ms | p99 ms | CPU ms per callback |
|---|---|---|---|---|---|---|---|
{rows}

**console / floor throughput** (target >= {TARGET} with p99 no worse than the floor's): {verdicts}.
The same ratio in CPU per callback (floor's / console's, steadier on a shared machine): {cpu_text}.
{profile_text and PROFILE_HEAD + profile_text}

{history}
""",
    )
    return {f"ratio_{p}": r for p, r in ratios.items()}


if __name__ == "__main__":
    with common.bench() as bench_ctx:
        main(bench_ctx)
