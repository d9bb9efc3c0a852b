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
    common.write_section(
        "fig2",
        f"""## 2. Install-URL issuance (`fig2_install_url.py`)

`GET /v1/tenants/{{t}}/projects/{{p}}/integrations/discord/install` with a Bearer JWT, {common.CONCURRENCY}
concurrent clients, {ROUNDS} rounds x {N} requests per target after {WARMUP} warm-up ones;
INSTALL_RATE_LIMIT raised. {common.WORKERS} uvicorn worker(s). The FLOOR (`floor_app.py` `/floor/install`)
verifies the JWT, SELECTs the project, `SET NX EX`s a state and returns the URL; the console also
rate-limits (counted in the script that stores the state), builds a full PendingInstall and the
provider's authorize URL.

| target | 200s | other answers | URLs/s | URLs/s per worker | p50 ms | p99 ms | server CPU ms per URL |
|---|---|---|---|---|---|---|---|
{rows}

**Console: {summary["console"][3]:.0f} install URLs/s per worker** (target >= {TARGET_PER_WORKER}: {verdict});
**console / floor = {ratio:.2f}** (target >= {TARGET_RATIO}: {ratio_verdict}); in CPU per URL (floor's /
console's, steadier on a shared machine): {summary["floor"][6] / (summary["console"][6] or 1):.2f}; at the
console's CPU per URL one fully used core would issue {1000 / (summary["console"][6] or 1):.0f} URLs/s.
""",
    )
    return {"per_worker": summary["console"][3], "ratio": ratio}


if __name__ == "__main__":
    with common.bench() as bench_ctx:
        main(bench_ctx)
