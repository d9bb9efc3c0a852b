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
HISTORY = """**Before / after.** The previous RESULTS.md (2026-12-02, a machine shared with two other
engineers' test runs, load 5-9 on 2 cores) against this run (2026-12-03, the machine to ourselves, load < 1):

| | previous RESULTS.md (a612109's code, busy machine) | this run (this branch, quiet machine) |
|---|---|---|
| Slack console / floor throughput | 0.85 | {slack_ratio:.2f} |
| Slack, CPU per callback, ms: console (floor) | 8.20 (5.99) | {sc:.2f} ({sf:.2f}) |
| Slack, floor's / console's CPU per callback | 0.73 | {slack_cpu_ratio:.2f} |
| Discord console / floor throughput | 0.80 | {discord_ratio:.2f} |
| Discord, CPU per callback, ms: console (floor) | 6.27 (4.24) | {dc:.2f} ({df:.2f}) |
| Discord, floor's / console's CPU per callback | 0.68 | {discord_cpu_ratio:.2f} |

A/B on the quiet machine (this script, `BENCH_CALLBACKS=1000`, 2 rounds; main at a612109 and this branch,
alternating main, branch, main, branch; the floor's / the console's CPU per callback, and throughput):

| run | Slack CPU | Slack throughput | Discord CPU | Discord throughput |
|---|---|---|---|---|
| main, 1st | 0.80 | 0.91 | 0.72 | 0.85 |
| branch, 1st | 0.85 | 0.94 | 0.78 | 0.90 |
| main, 2nd | 0.76 | 0.89 | 0.70 | 0.83 |
| branch, 2nd | 0.85 | 0.96 | 0.73 | 0.84 |

Profile before (py-spy, a612109, quiet machine; share of samples): Slack: self
`_SelectorSocketTransport.write` 4%, httpcore's pool bookkeeping (`is_idle`,
`_assign_requests_to_connections`, anyio's `extra_attributes`) ~17% together; on the stack `request` (our
provider wrapper) 31%, `save_installation` 13%. Discord: self `BaseCursor._send_query_prepared` 6%,
`_SelectorSocketTransport.write` 6%; on the stack `_exchange_and_enrich` 28%, `save_installation` 15%.
cProfile of the console under the same load (an instrumented copy, not kept; cumulative time as a share of
the whole request's): before (both providers), FastAPI's dependency solving for the six declared parameters
3.8%, its route matching 2.9% (the callback's router was the eighth of twelve), the audit event's SQLModel
object 3.0% (its `__init__` 2.7%), the log line 1.6%, `delete_cookie` 0.6% (a hand-built header in the
A/B above, then Starlette's `delete_cookie` again: not worth owning for so small a share); the provider
calls 62%, the
response's write 3.9%. After (Discord): dependency solving 1.1%, route matching 0.8%, the audit row's values
0.3%, the log line 2.0%; the provider call 61%.

**What changed (this pass).**
- The callback reads its six parameters itself (`api/callback.py`: a length bound per parameter, the
  type's pattern) instead of having FastAPI validate each declared one; they stay documented in
  /openapi.json (`openapi_extra`). A malformed callback now gets the plain error page
  (`invalid_state`, 400), where FastAPI answered a JSON 422 to a browser.
- The callback's router is matched first (routes are tried in order; it was behind seven routers).
- The first install's audit row goes into its statement as plain values (`audit.event_values`), not
  as an SQLModel object dumped to JSON and expanded by `jsonb_populate_recordset`.
- Earlier passes (2026-12-02): a first install in one statement on a pooled autocommit connection
  (`persistence/db.py` `statement()`); Discord's display-only lookups in the job worker; the rate limit
  counted in the state's Lua script; an honest floor.

**Why the targets are missed, by how much, and what would close them.**
- p99 (both): with 50 clients each sending its next callback as soon as the last one is answered, the
  mean latency is 50 / throughput (Little's law), and the spread is the same for both servers (steady
  state p90 ~2.1x and p99 ~3.5x the p50 for each, measured this session). So the console's p99 is no
  worse than the floor's only where its throughput reaches the floor's: every guard the floor skips
  (the rate limit, the binding, AES-GCM, the credentials and audit rows, the log line) costs latency
  at this load. Slack's p99 came within 1% of the floor's in a run of this session.
- Slack: {slack_cpu_ratio:.2f} in CPU per callback (target 0.85) and {slack_ratio:.2f} in throughput.
- Discord: {discord_cpu_ratio:.2f} in CPU (needs 0.85: ~0.3 ms of the console's ~3.2 ms per callback).
  What is left is the fixed cost every callback pays on top of the floor, weighing twice as much against
  a floor that makes one provider call instead of Slack's two: FastAPI's request handling and its five
  middlewares (~5% together in cProfile), the state's script (rate limit and binding) over a plain
  GETDEL, AES-GCM, a 33-parameter statement that also queues the worker's job, the log line and the
  metrics. A plain Starlette route for the callback measured ~0.1 ms less per callback (3%; within this
  machine's noise in 2 of 4 runs) at the cost of the callback's /openapi.json entry: not taken. Closing
  the rest would take a faster HTTP stack for both (httptools or Granian instead of h11: the same for
  both, so it narrows the gap only in absolute terms) or dropping guards the security suite holds."""


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
