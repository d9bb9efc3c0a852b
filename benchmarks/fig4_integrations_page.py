"""Figure 4: the login and integrations pages of the real console (prod build) in a real Chromium.

Started like tests/utils/console.py does (`reflex run --env prod`, GRANIAN_WORKERS=2), fresh browser
context per load. Times are taken in the page (a check on every animation frame, relative to the
navigation's start), so they are what the user sees, not when Playwright noticed:
- /login (signed out): the demo users' sign-in buttons visible;
- the integrations page (Alice's session cookie): the cards' skeleton visible, then the cards with
  their status badges; the cumulative layout shift (CLS, Chromium's 'layout-shift' entries) until
  the cards have been shown for a moment;
- sign-in: click Alice's button on /login -> her project's cards with statuses (Python clock);
- Install (Discord): click `#install-discord` -> the sandbox's consent page shows `#approve`.
The first load is cold (browser cache empty, first state in Redis); the rest are reported as a median.
"""

from __future__ import annotations

import os
import time
from typing import Any

from benchmarks import common
from benchmarks.common import Bench, say

LOADS = int(os.environ.get("BENCH_PAGE_LOADS", "6"))
USERS, SKELETON, CARDS = "[id^='login-']", "#cards-skeleton", "[id^='status-']"
TARGETS = {"users": 0.5, "skeleton": 0.5, "cards": 1.0}

# Installed before any page script: first frame at which each selector is visible, and the CLS sum.
PAINT_PROBE = common.paint_probe({"users": USERS, "skeleton": SKELETON, "cards": CARDS})


def _context(browser: Any, url: str, cookie: str | None) -> Any:
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    context.add_init_script(PAINT_PROBE)
    if cookie:
        context.add_cookies([{"name": "tms_session", "value": cookie, "url": url}])
    return context


def _probe(page: Any, until: str) -> dict[str, float]:
    page.wait_for_function(f"() => window.__paint && window.__paint.seen.{until} !== undefined")
    page.wait_for_timeout(700)  # let late data land: its layout shifts count
    return page.evaluate("() => ({...window.__paint.seen, cls: window.__paint.cls})")  # type: ignore[no-any-return]


def _round(browser: Any, context: Any | None, url: str, project: str, cookie: str) -> dict[str, float]:
    """One round: /login, sign in as Alice, then her project's page opened afresh and Install clicked.
    `context`: a browser that has been here before (its cache kept), or None for a new one each time."""
    own = context is None
    result: dict[str, float] = {}
    context = context or _context(browser, url, None)
    context.clear_cookies()
    page = context.new_page()
    page.goto("/login", wait_until="commit")
    seen = _probe(page, "users")
    result["users"], result["cls_login"] = seen["users"] / 1000, seen["cls"]
    started = time.perf_counter()
    page.locator("#login-alice").click()
    page.wait_for_selector(CARDS, state="visible")
    result["signin"] = time.perf_counter() - started
    page.close()
    if own:
        context.close()
        context = _context(browser, url, None)
    context.add_cookies([{"name": "tms_session", "value": cookie, "url": url}])
    page = context.new_page()
    page.goto(f"/projects/{project}/integrations", wait_until="commit")
    seen = _probe(page, "cards")
    result["skeleton"] = seen.get("skeleton", seen["cards"]) / 1000
    result["cards"], result["cls_integrations"] = seen["cards"] / 1000, seen["cls"]
    install = page.locator("#install-discord")
    install.wait_for(state="visible")
    started = time.perf_counter()
    install.click()
    page.wait_for_url("**/sandbox/discord/**")
    page.wait_for_selector("#approve", state="visible")
    result["install"] = time.perf_counter() - started
    page.close()
    if own:
        context.close()
    return result


# Before issue 12 (this script, main at 31587c6, 2026-12-02, load ~8 on 2 cores; fresh context per load,
# so comparable with the "new browser" column). The older figure ("navigation -> first card", 6 loads):
# 1038 ms warm median in the last full run, 866 ms re-run that day.
BEFORE = {"users": 695, "skeleton": 923, "cards": 963, "signin": 611, "install": 304}
BEFORE_CLS = "/login 0.0125, integrations page 0.0005"
WHAT_CHANGED = """**What changed (issue 12).**
- /login: the demo users known when the page is compiled are rendered into its prerendered HTML
  (`state/login.py` `demo_users_at_build`, read with one short blocking query while the app compiles, only
  when the demo login is on: production never asks); the page's on_load still replaces them with the
  current list (`LoginState.loaded`). Before, the card stayed empty until the websocket, hydrate and on_load
  had run.
- Integrations page: its route has a project id in its path, so it is not prerendered and was served as an
  empty SPA shell until its scripts, then its route module, then its icons had loaded. The app's
  `hydrate_fallback` is now the page's frame, title and cards' skeleton (`pages/integrations.py`
  `first_paint`), so the HTML itself shows them; the page's first render lays out the same.
- No layout shift: who is signed in appears whole in a fixed-size slot of the header (it pushed the project
  switcher left when it arrived), and provider logos no longer shrink in their row before they load.
- Built scripts and styles (content-hashed names under `/assets/`) are sent with
  `Cache-Control: public, max-age=31536000, immutable` (`api/headers.py`): a returning browser does not
  ask for them again.
- Cards with statuses: the data path (websocket, hydrate with on_load in its CONNECT packet, one service
  call) is unchanged; what is left of the second is mostly the page's scripts running on a busy 2-core
  machine.
- Not solved: /login still shows a small shift in about one load of six (0.009-0.013, as before), early
  (~0.3 s, while the page hydrates); the element that moved is gone from the page when it is reported."""

MEASURES = [
    ("/login -> demo users visible", "users"),
    ("integrations page -> cards' skeleton visible", "skeleton"),
    ("integrations page -> cards with statuses visible", "cards"),
    ("click Sign in (Alice) on /login -> cards with statuses", "signin"),
    ("click Install (Discord) -> sandbox consent page", "install"),
]


def main(ctx: Bench) -> dict[str, float]:
    import psycopg

    from devtools.seed import demo_id

    say(f"== Figure 4: login and integrations pages in Chromium, {LOADS} rounds")
    console = ctx.console()
    project = demo_id("Acme", "Customer Support")
    with psycopg.connect(ctx.libpq_url(), autocommit=True) as conn:  # Discord shows "Install"
        conn.execute("DELETE FROM project_integrations WHERE project_id = %s", (project,))
    cookie = common.demo_token()
    runs: dict[str, list[dict[str, float]]] = {"new": [], "returning": []}
    with common.chromium() as browser:
        returning = _context(browser, console.url, None)
        for _ in range(LOADS):  # alternate, so both kinds see the same machine load
            runs["new"].append(_round(browser, None, console.url, project, cookie))
            runs["returning"].append(_round(browser, returning, console.url, project, cookie))
        returning.close()
    cold = runs["new"][0]  # the first load of all: empty cache, fresh server
    new = {k: common.median([r[k] for r in runs["new"][1:]]) for k in cold}
    back = {k: common.median([r[k] for r in runs["returning"][1:]]) for k in cold}
    for _, key in MEASURES:
        times = f"cold {common.ms(cold[key])}, new browser {common.ms(new[key])}"
        say(f"  {key}: {times}, returning {common.ms(back[key])}")
    worst = {k: max(r[k] for kind in runs.values() for r in kind) for k in ("cls_login", "cls_integrations")}
    shifts = f"login {worst['cls_login']:.4f}, integrations {worst['cls_integrations']:.4f}"
    say(f"  CLS (worst of all loads): {shifts}")

    def row(label: str, key: str) -> str:
        target = TARGETS.get(key)
        verdict = f"< {target * 1000:.0f} ms: {'meets' if back[key] < target else 'misses'}" if target else ""
        every = ", ".join(f"{r[key] * 1000:.0f}" for r in runs["returning"])
        return (
            f"| {label} | {BEFORE[key]} ms | {cold[key] * 1000:.0f} ms | {new[key] * 1000:.0f} ms "
            f"| {back[key] * 1000:.0f} ms | {verdict} | {every} |"
        )

    rows = "\n".join(row(label, key) for label, key in MEASURES)
    common.write_section(
        "fig4",
        f"""## 4. Login and integrations pages in a real browser (`fig4_integrations_page.py`)

The real console (`reflex run --env prod`, GRANIAN_WORKERS=2, started in {console.started_in:.0f} s
incl. the prod build), Chromium via Playwright, {LOADS} rounds. Page times are taken in the page on
every animation frame, from the navigation's start. "New browser": a fresh browser context per round
(empty cache); "returning": one context kept across rounds (the browser cache of an agent who has
used the console before; cookies cleared each round). Medians leave out round 1; "cold" is round 1
in a new browser right after the server started. Targets apply to the warm (returning) medians.

| measure | before (new browser) | cold | new browser | returning (warm) | target | returning, each (ms) |
|---|---|---|---|---|---|---|
{rows}

Cumulative layout shift (worst of all {2 * LOADS} loads of each page, until the cards have shown
for 0.7 s; target: no shift): /login {worst["cls_login"]:.4f},
integrations page {worst["cls_integrations"]:.4f} (before: {BEFORE_CLS}).

{WHAT_CHANGED}
""",
    )
    return {**back, **worst}


if __name__ == "__main__":
    with common.bench() as bench_ctx:
        main(bench_ctx)
