"""Figure 4: the integrations page of the real console (prod build) in a real Chromium.

Started like tests/utils/console.py does (`reflex run --env prod`, GRANIAN_WORKERS=2). Signed in as
the demo seed's Alice (session cookie), fresh browser context per load:
- time to first card: navigation start -> the first `#card-<type>` visible;
- Install (Discord): click `#install-discord` -> the sandbox's consent page shows `#approve`.
The first load is cold (browser cache empty, first state in Redis); the rest are reported as a median.
"""

from __future__ import annotations

import os
import time

from benchmarks import common
from benchmarks.common import Bench, say

LOADS = int(os.environ.get("BENCH_PAGE_LOADS", "6"))


def main(ctx: Bench) -> dict[str, float]:
    import psycopg

    from devtools.seed import demo_id

    say(f"== Figure 4: integrations page in Chromium, {LOADS} loads")
    console = ctx.console()
    project = demo_id("Acme", "Customer Support")
    with psycopg.connect(ctx.libpq_url(), autocommit=True) as conn:  # Discord shows "Install"
        conn.execute("DELETE FROM project_integrations WHERE project_id = %s", (project,))
    cookie = common.demo_token()
    first_card: list[float] = []
    to_provider: list[float] = []
    with common.chromium() as browser:
        for _ in range(LOADS):
            context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
            context.set_default_timeout(20_000)
            context.add_cookies([{"name": "tms_session", "value": cookie, "url": console.url}])
            page = context.new_page()
            started = time.perf_counter()
            page.goto(f"/projects/{project}/integrations", wait_until="commit")
            page.wait_for_selector("[id^='card-']", state="visible")
            first_card.append(time.perf_counter() - started)
            install = page.locator("#install-discord")
            install.wait_for(state="visible")
            started = time.perf_counter()
            install.click()
            page.wait_for_url("**/sandbox/discord/**")
            page.wait_for_selector("#approve", state="visible")
            to_provider.append(time.perf_counter() - started)
            context.close()
    cold_card, warm_card = first_card[0], common.median(first_card[1:])
    cold_click, warm_click = to_provider[0], common.median(to_provider[1:])
    say(f"  first card: cold {common.ms(cold_card)}, warm median {common.ms(warm_card)}")
    say(
        f"  Install (Discord) -> sandbox consent: cold {common.ms(cold_click)}, "
        f"warm median {common.ms(warm_click)}"
    )

    def row(label: str, times: list[float]) -> str:
        every = ", ".join(f"{t * 1000:.0f}" for t in times)
        return f"| {label} | {times[0] * 1000:.0f} ms | {common.median(times[1:]) * 1000:.0f} ms | {every} |"

    common.write_section(
        "fig4",
        f"""## 4. Integrations page in a real browser (`fig4_integrations_page.py`)

The real console (`reflex run --env prod`, GRANIAN_WORKERS=2, started in {console.started_in:.0f} s
incl. the prod build), Chromium via Playwright, signed in as Alice, {LOADS} loads in fresh browser contexts.

| measure | cold (1st load) | warm median | all (ms) |
|---|---|---|---|
{row("navigation -> first card visible", first_card)}
{row("click Install (Discord) -> sandbox consent page", to_provider)}

No target was set for this figure.
""",
    )
    return {"first_card": warm_card, "install": warm_click}


if __name__ == "__main__":
    with common.bench() as bench_ctx:
        main(bench_ctx)
