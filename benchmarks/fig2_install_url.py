"""Figure 2: install-URL issuance per second per worker.

GET /v1/tenants/{t}/projects/{p}/integrations/discord/install with a Bearer JWT (the demo seed's
Alice, project "Customer Support"), 50 concurrent clients, against the console API
(`uvicorn --factory tms_console.api:create_api`), rate limits raised via INSTALL_RATE_LIMIT.
For context, the same load against the FLOOR's /floor/install (JWT decode, one SELECT, SET NX EX)
under the same uvicorn flags. Targets (issue 12): >= 1,000 per second per worker and >= 0.7 of the floor.
"""

from __future__ import annotations

import asyncio
import os

from benchmarks import common
from benchmarks.common import Bench, say

N = int(os.environ.get("BENCH_INSTALLS", "2000"))
WARMUP = 100
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
TARGET_PER_WORKER, TARGET_RATIO = 1000, 0.7  # issue 12
# What earlier runs measured and what changed: kept in the section beside this run's figures.
HISTORY = """**Before / after** (same script; the machine was shared with two other engineers' test runs and
benchmarks throughout, load 5-9 on 2 cores, so a server's CPU per URL moved by up to 60% between rounds:
the A/B row, measured in one run with the two consoles and the floor alternating, is the one to trust):

| | old RESULTS.md (06:45) | first pass (13:46) | before (7883921, 16:05 run) | after (this run) |
|---|---|---|---|---|
| console URLs/s per worker (floor) | 256 (1373) | 267 (690) | 494 (949) | {console:.0f} ({floor:.0f}) |
| console / floor throughput | 0.19 | 0.39 | 0.52 | {ratio:.2f} |
| CPU per URL, ms: console (floor) | - | 1.69 (0.51) | 0.96 (0.53) | {console_cpu:.2f} ({floor_cpu:.2f}) |
| floor's / console's CPU per URL | - | 0.30 | 0.55 | {cpu_ratio:.2f} |

(Other full runs of this branch within the hour, on the machine as loaded as it was: 702, 201 and
373 URLs/s per worker at 0.94, 1.52 and 1.26 ms of CPU per URL; floor's / console's CPU 0.60, 0.51, 0.57.)

A/B in one run (`/tmp`-built copy of 7883921 beside this branch and the floor, uvicorn, 6 alternating
rounds of 600 URLs, median CPU per URL): before 2.63 ms, after 1.30 ms, floor 0.76 ms: floor's / console's
0.29 before, 0.58 after.

Profile before (py-spy, 7883921, 456 samples): JWT verification 13% of samples, 9% of them PyJWT
preparing the same HS256 secret again for every token (`HMACAlgorithm.prepare_key`: PEM, SSH, DER and
JWK checks, a DER parse attempt, a JSON parse); `require_project_installed` 13% (an SQLAlchemy
session, its pre-ping and the read); FastAPI's `solve_dependencies` 26% on the stack (the JWT inside).
{profile_after}

**What changed (this pass).**
- The read (`repository.installed_in_project`) runs on a pooled autocommit psycopg connection
  (`persistence/db.py` `statement()`, services: `unit_of_work.one_statement()`): no ORM session, no
  transaction, and no pre-ping round trip. A connection the server dropped (restart, terminated backend)
  is found at checkout without a round trip (the server says FATAL and closes: the idle socket is
  readable) and replaced; one that dies during its statement fails it as an outage (503). The same check
  replaces the pre-ping of the SQLAlchemy pool, for every unit of work of the web process.
- JWT verification prepares its key once (`security/identity.py`: PyJWT with HS256/RS256 algorithm
  objects that remember the prepared key; the checks still refuse a PEM/SSH/DER/JWK secret): ~60 us less
  per token (120 -> 63 us measured in-process), for every authenticated API request.
- First pass (13:46): `bearer_identity` a coroutine; one query for the project and its installed row;
  the rate limit counted in the Lua script that stores the state.

**Why the targets are missed, and what would close them.** This run: {console:.0f} URLs/s per worker at
{console_cpu:.2f} ms of CPU per URL, i.e. ~{per_core:.0f}/s if the worker had a core to itself: on these
2 cores it shares the CPU with the load generator (aiohttp, 50 clients, in the benchmark process) and
with other engineers' work, so the measured rate stays below what its CPU cost allows. The ratio,
{ratio:.2f} in throughput (0.45-0.73 across this hour's runs) and {cpu_ratio:.2f} in CPU, the steadier
measure (needs 0.7): the floor is a bare Starlette handler
(one query, one Redis command); what is left of the console's own cost is FastAPI (routing through ~60
routes, dependency solving and validation, the response model), our two middlewares, the bigger state
(PendingInstall) and the rate-limit script. Closing it would take a leaner route than FastAPI's for
this one endpoint (a plain Starlette route sharing the services), which DESIGN.md's one-router shape
argues against. Granian (production's server, `BENCH_SERVER=granian`) was tried for both targets: it
did not lower CPU per URL here (console 1.22-1.38 ms, floor 0.56-0.65 ms in one run): its Rust runtime
threads count in the worker's CPU, and the app's Python work dominates."""


def main(ctx: Bench) -> dict[str, float]:
    from devtools.seed import demo_id

    say(f"== Figure 2: install-URL issuance, {common.CONCURRENCY} clients, {N} requests x {ROUNDS} rounds")
    port = common.free_port()
    console_url = f"http://127.0.0.1:{port}"
    ctx.use_settings(PUBLIC_BASE_URL=console_url)
    tenant, project = demo_id("Acme"), demo_id("Acme", "Customer Support")
    headers = {"Authorization": "Bearer " + common.demo_token()}
    results: dict[str, list[common.LoadResult]] = {"console": [], "floor": []}
    profile: dict[str, list[tuple[str, float]]] = {}
    with (
        common.uvicorn_server(
            ctx, "tms_console.api:create_api", name="fig2-console", ready_path="/api/health",
            server=common.SERVER, PORT=str(port), PUBLIC_BASE_URL=console_url,
        ),
        common.uvicorn_server(
            ctx, "benchmarks.floor_app:create_floor", name="fig2-floor", ready_path="/health",
            server=common.SERVER, PUBLIC_BASE_URL=console_url,
        ) as floor_url,
    ):  # fmt: skip
        targets = {
            "console": f"{console_url}/v1/tenants/{tenant}/projects/{project}/integrations/discord/install",
            "floor": f"{floor_url}/floor/install?project_id={project}",
        }
        for round_no in range(ROUNDS):
            order = ["console", "floor"] if round_no % 2 == 0 else ["floor", "console"]
            for name in order:
                asyncio.run(common.run_load(name, [(targets[name], headers)] * WARMUP, expect=200))
                server = console_url if name == "console" else floor_url
                with common.profiled(server, f"fig2-{name}") as top:
                    cpu = common.server_cpu(server)
                    result = asyncio.run(common.run_load(name, [(targets[name], headers)] * N, expect=200))
                    result.cpu = common.server_cpu(server) - cpu
                if name == "console" and top and not profile:
                    profile.update(top)
                say("  " + result.line())
                results[name].append(result)
    summary = {}
    for name, runs in results.items():
        ok, elapsed = sum(r.ok for r in runs), sum(r.elapsed for r in runs)
        latencies = [x for r in runs for x in r.latencies]
        bad = sum(sum(n for s, n in r.statuses.items() if s != 200) + r.errors for r in runs)
        rps = ok / elapsed if elapsed else 0.0
        summary[name] = (
            ok,
            bad,
            rps,
            rps / common.WORKERS,
            common.pct(latencies, 50),
            common.pct(latencies, 99),
            1000 * sum(r.cpu for r in runs) / ok if ok else 0.0,
        )
    ratio = summary["console"][2] / summary["floor"][2] if summary["floor"][2] else 0.0
    say(f" console: {summary['console'][3]:.0f} install URLs/s per worker; console/floor = {ratio:.2f}")
    verdict = "meets" if summary["console"][3] >= TARGET_PER_WORKER else "misses"
    ratio_verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    rows = "\n".join(
        f"| {name} | {ok} | {bad} | {rps:.0f} | {per:.0f} | {p50 * 1000:.1f} | {p99 * 1000:.1f} | {cpu:.2f} |"
        for name, (ok, bad, rps, per, p50, p99, cpu) in summary.items()
    )
    console_cpu, floor_cpu = summary["console"][6], summary["floor"][6]
    profile_after = ""
    if profile.get("self"):
        own = "; ".join(f"`{frame}` {share:.0%}" for frame, share in profile["self"][:6])
        ours = [(f, share) for f, share in profile["total"] if "(tms_console/" in f][:8]
        total = "; ".join(f"`{frame}` {share:.0%}" for frame, share in ours)
        profile_after = (
            f"\nProfile after (py-spy, this run, {int(profile['samples'][0][1])} samples): self: {own}."
            f" On the stack (ours): {total}."
        )
    history = HISTORY.format(
        console=summary["console"][3],
        floor=summary["floor"][3],
        ratio=ratio,
        console_cpu=console_cpu,
        floor_cpu=floor_cpu,
        cpu_ratio=floor_cpu / (console_cpu or 1),
        per_core=1000 / (console_cpu or 1),
        profile_after=profile_after,
    )
    common.write_section(
        "fig2",
        f"""## 2. Install-URL issuance (`fig2_install_url.py`)

`GET /v1/tenants/{{t}}/projects/{{p}}/integrations/discord/install` with a Bearer JWT, {common.CONCURRENCY}
concurrent clients, {ROUNDS} rounds x {N} requests per target after {WARMUP} warm-up ones;
INSTALL_RATE_LIMIT raised. {common.WORKERS} {common.SERVER} worker(s) (BENCH_SERVER). The FLOOR
(`floor_app.py` `/floor/install`) verifies the JWT, SELECTs the project, `SET NX EX`s a state and returns
the URL; the console also rate-limits (counted in the script that stores the state), builds a full
PendingInstall and the provider's authorize URL.

| target | 200s | other answers | URLs/s | URLs/s per worker | p50 ms | p99 ms | server CPU ms per URL |
|---|---|---|---|---|---|---|---|
{rows}

**Console: {summary["console"][3]:.0f} install URLs/s per worker** (target >= {TARGET_PER_WORKER}: {verdict});
**console / floor = {ratio:.2f}** (target >= {TARGET_RATIO}: {ratio_verdict}); in CPU per URL (floor's /
console's, steadier on a shared machine): {floor_cpu / (console_cpu or 1):.2f}; at the
console's CPU per URL one fully used core would issue {1000 / (console_cpu or 1):.0f} URLs/s.

{history}
""",
    )
    return {"per_worker": summary["console"][3], "ratio": ratio}


if __name__ == "__main__":
    with common.bench() as bench_ctx:
        main(bench_ctx)
