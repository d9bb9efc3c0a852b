"""Figure 5: backend memory (RSS) with 50 console sessions open.

The real console (`reflex run --env prod`, GRANIAN_WORKERS=2). 50 raw socket.io clients
(tests/utils/reflex_client.py: the protocol the generated frontend speaks), each with its own
client token and Alice's session cookie, hydrate the integrations page and run its on_load
(`IntegrationsState.load`), then stay connected. RSS is summed over the console's whole process
tree (reflex CLI + granian + its workers), before, with the 50 sessions open, and after they close.
"""

from __future__ import annotations

import asyncio
import os
import time

from benchmarks import common
from benchmarks.common import Bench, say

SESSIONS = int(os.environ.get("BENCH_SESSIONS", "200"))


def tree_rss(pid: int) -> tuple[int, list[tuple[str, int]]]:
    import psutil

    root = psutil.Process(pid)
    parts = []
    for proc in [root, *root.children(recursive=True)]:
        try:
            parts.append((proc.name(), proc.memory_info().rss))
        except psutil.NoSuchProcess:
            continue
    return sum(rss for _, rss in parts), parts


def mib(value: float) -> str:
    return f"{value / 1024 / 1024:.1f} MiB"


async def open_sessions(url: str, cookie: str, page: str, load_event: str) -> tuple[list[object], int]:
    from tests.utils.reflex_client import HYDRATE, ReflexClient
    from tms_console.state.integrations import CardsState

    cards_state = CardsState.get_full_name()  # the load fills the cards substate
    route = {"pathname": page, "asPath": page, "query": {}}
    clients = [ReflexClient(url, cookie=f"tms_session={cookie}") for _ in range(SESSIONS)]
    hydrated = 0

    async def one(client: ReflexClient) -> bool:
        await client.connect(timeout=20)
        await client.emit(HYDRATE, {}, route)
        frames = await client.call(load_event, {}, route, settle=0.2, timeout=30)
        cards = ReflexClient.state(client.frames, cards_state).get("cards_rx_state_")
        return bool(frames) and cards is not None

    results = await common.gather_limited([lambda c=c: one(c) for c in clients], limit=10)
    hydrated = sum(1 for ok in results if ok)
    return list(clients), hydrated


async def close_sessions(clients: list[object]) -> None:
    await asyncio.gather(*(c.sio.disconnect() for c in clients), return_exceptions=True)  # type: ignore[attr-defined]


def main(ctx: Bench) -> dict[str, float]:
    from devtools.seed import demo_id
    from tms_console import tms_console  # noqa: F401 - registers the states, as the tests do
    from tms_console.state.integrations import IntegrationsState

    say(f"== Figure 5: backend RSS with {SESSIONS} console sessions")
    console = ctx.console()
    page = f"/projects/{demo_id('Acme', 'Customer Support')}/integrations"
    load_event = IntegrationsState.get_full_name() + ".load"
    cookie = common.demo_token()
    # Warm: one session through the same path, so lazy imports and pools are not counted as sessions.
    asyncio.run(_open_and_close(console.url, cookie, page, load_event, 1))
    time.sleep(2)
    before, parts = tree_rss(console.pid)
    say(f"  before: {mib(before)} over {len(parts)} processes")

    async def measure() -> tuple[int, int]:
        clients, hydrated = await open_sessions(console.url, cookie, page, load_event)
        await asyncio.sleep(3)
        total, _ = tree_rss(console.pid)
        await close_sessions(clients)
        return total, hydrated

    during, hydrated = asyncio.run(measure())
    time.sleep(3)
    after, _ = tree_rss(console.pid)
    per_session = (during - before) / max(1, hydrated)
    say(
        f"  with {hydrated}/{SESSIONS} hydrated sessions: {mib(during)} "
        f"(+{mib(during - before)}, {mib(per_session)}/session)"
    )
    say(f"  after closing them: {mib(after)}")
    processes = ", ".join(f"{name} {mib(rss)}" for name, rss in parts)
    common.write_section(
        "fig5",
        f"""## 5. Backend memory with {SESSIONS} console sessions (`fig5_memory.py`)

The real console (`reflex run --env prod`, GRANIAN_WORKERS=2, Redis state manager). {SESSIONS} raw socket.io
clients (the frontend's protocol, as in tests/utils/reflex_client.py), each hydrating the integrations
page and running its on_load as Alice, then staying connected; {hydrated} of {SESSIONS} got their cards.
RSS summed over the console's process tree ({len(parts)} processes: {processes}).

| | RSS |
|---|---|
| before (after one warm-up session) | {mib(before)} |
| with {SESSIONS} sessions open | {mib(during)} |
| growth | {mib(during - before)} ({mib(per_session)} per session) |
| after they disconnected | {mib(after)} |

No target was set for this figure.
""",
    )
    return {"per_session": per_session}


async def _open_and_close(url: str, cookie: str, page: str, load_event: str, count: int) -> tuple[int, int]:
    from tests.utils.reflex_client import HYDRATE, ReflexClient

    route = {"pathname": page, "asPath": page, "query": {}}
    for _ in range(count):
        client = ReflexClient(url, cookie=f"tms_session={cookie}")
        await client.connect(timeout=20)
        await client.emit(HYDRATE, {}, route)
        await client.call(load_event, {}, route, settle=0.2, timeout=30)
        await client.sio.disconnect()
    return count, count


if __name__ == "__main__":
    with common.bench() as bench_ctx:
        main(bench_ctx)
