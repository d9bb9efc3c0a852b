"""Shared helpers of the benchmark scripts: services, servers, load, the real console, RESULTS.md.

Every figure script runs standalone (`python -m benchmarks.fig1_callback`) or from
`benchmarks.run_all` (what `make bench` runs), which shares one `Bench` between the figures.
Benchmarks measure and print; they never assert timings.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from devtools.server import stop
from tests.utils.browser import CHROMIUM_ARGS, chromium_path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
WORK = Path(os.environ.get("BENCH_WORKDIR", "/tmp/tms_bench"))  # noqa: S108 - logs, the console's .web
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "tms_bench")
BENCH_REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))
# One uvicorn worker by default: the figures are "per worker"; BENCH_WORKERS=2 to try more.
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))
CONCURRENCY = 50
# The server of the console and its floor in figures 1 and 2: uvicorn (h11, asyncio) or granian (what
# `reflex run --env prod` serves the app with). Both targets of a figure always run on the same one.
SERVER = os.environ.get("BENCH_SERVER", "uvicorn")
SERVER_URL_KEYS = ("PUBLIC_BASE_URL", "SANDBOX_BASE_URL")  # set per server, never inherited
SERVER_PIDS: dict[str, int] = {}  # url -> pid of each running uvicorn_server (one worker: its process)


# --- the machine and RESULTS.md ------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
    return {
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "cores": str(os.cpu_count() or "?"),
        "ram": f"{int(total_kb.group(1)) / 1024 / 1024:.1f} GiB" if total_kb else "unknown",
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


_SECTION = re.compile(r"<!-- BEGIN (\w+) -->\n(.*?)<!-- END \1 -->\n", re.S)


def write_section(key: str, body: str) -> None:
    """Replace this figure's section of RESULTS.md (others are kept) and refresh the header."""
    sections = dict(_SECTION.findall(RESULTS.read_text())) if RESULTS.exists() else {}
    sections[key] = body.rstrip() + "\n"
    info = machine()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        "# Benchmarks\n\n"
        "Written by the scripts in `benchmarks/` (`make bench` runs them all; each script also runs alone,\n"
        "e.g. `.venv/bin/python -m benchmarks.fig1_callback`). Numbers are measured, never asserted; every\n"
        "ratio compares two things measured in the same run on the same machine. Other jobs may have shared\n"
        "the machine, so treat single numbers as noisy.\n\n"
        f"- Last written: {now}\n"
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM "
        f"(Linux {info['kernel']}, Python {info['python']})\n"
        f"- uvicorn workers per server: {WORKERS} (BENCH_WORKERS); load generator: aiohttp, "
        f"{CONCURRENCY} concurrent clients, in the benchmark process on the same machine\n\n"
    )
    text = header + "".join(
        f"<!-- BEGIN {k} -->\n{sections[k]}<!-- END {k} -->\n\n" for k in sorted(sections)
    )
    RESULTS.write_text(text.rstrip() + "\n")


def say(text: str) -> None:
    print(text, flush=True)


# --- statistics ----------------------------------------------------------------------------------


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


@dataclass
class LoadResult:
    label: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0
    errors: int = 0
    cpu: float = 0.0  # CPU seconds the server spent meanwhile (`server_cpu`), when measured

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def line(self) -> str:
        return (
            f"{self.label}: {self.ok} ok in {self.elapsed:.2f} s = {self.rps:.0f}/s, "
            f"p50 {ms(pct(self.latencies, 50))}, p99 {ms(pct(self.latencies, 99))}, "
            f"statuses {dict(sorted(self.statuses.items()))}, transport errors {self.errors}"
            + (f", server CPU {1000 * self.cpu / self.ok:.2f} ms per answer" if self.cpu and self.ok else "")
        )


async def run_load(
    label: str,
    requests: Sequence[tuple[str, dict[str, str]]],
    *,
    expect: int,
    location_has: str | None = None,
    concurrency: int = CONCURRENCY,
) -> LoadResult:
    """GET each (url, headers) once with `concurrency` clients; latency counts answers with `expect`
    (and, if given, a Location containing `location_has`; others are counted as status -1)."""
    import aiohttp

    result = LoadResult(label)
    queue: asyncio.Queue[tuple[str, dict[str, str]]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as s:

        async def client() -> None:
            while not queue.empty():
                url, headers = queue.get_nowait()
                started = time.perf_counter()
                try:
                    async with s.get(url, headers=headers, allow_redirects=False) as response:
                        await response.read()
                        status = response.status
                        if location_has and location_has not in response.headers.get("location", ""):
                            status = -1
                except (aiohttp.ClientError, TimeoutError):
                    result.errors += 1
                    continue
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status == expect:
                    result.latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - started
    return result


async def gather_limited(calls: Sequence[Callable[[], Awaitable[Any]]], limit: int = 20) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await call()

    return list(await asyncio.gather(*(one(c) for c in calls)))


# --- services, database, environment ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


@dataclass
class Bench:
    """Postgres + Redis for the benchmarks, the bench database, and the env every server gets."""

    database_url: str
    redis_url: str
    env: dict[str, str]
    stack: ExitStack = field(default_factory=ExitStack)
    base_env: dict[str, str] = field(
        default_factory=lambda: {k: v for k, v in os.environ.items() if k not in SERVER_URL_KEYS}
    )
    _cache: dict[str, Any] = field(default_factory=dict)

    def console(self) -> Console:
        """The real Reflex console on the bench database, started once and shared by the figures."""
        if "console" not in self._cache:
            say("starting the real console (reflex run --env prod) ...")
            self._cache["console"] = self.stack.enter_context(reflex_console(self))
            say(f"console ready at {self._cache['console'].url} in {self._cache['console'].started_in:.0f} s")
        return self._cache["console"]  # type: ignore[no-any-return]

    def libpq_url(self) -> str:
        return self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def server_env(self, **extra: str) -> dict[str, str]:
        env = self.base_env | self.env | extra  # never another figure's server URLs
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def use_settings(self, **extra: str) -> None:
        """Make this process's tms_console settings match a server started with `server_env(**extra)`."""
        from tms_console.settings import clear_settings_cache

        for key in SERVER_URL_KEYS:
            os.environ.pop(key, None)
        os.environ.update(self.env | extra)
        clear_settings_cache()


@contextmanager
def bench() -> Iterator[Bench]:
    """Env-provided Postgres/Redis (DATABASE_URL/REDIS_URL) or embedded ones, stopped afterwards
    if this run started them. A fresh, migrated `tms_bench` database with the demo seed."""
    from devtools import services as services_runtime
    from tms_console.security.keyring import generate_key_spec

    WORK.mkdir(parents=True, exist_ok=True)
    postgres_was_running = (services_runtime.DATA_DIR / "postgres" / "postmaster.pid").exists()
    urls = services_runtime.ensure_services()
    if postgres_was_running and "postgres" in urls.started:
        urls.started.remove("postgres")  # someone else's embedded Postgres: leave it running
    try:
        database_url = services_runtime.with_database(urls.database_url, BENCH_DATABASE)
        redis_url = _redis_db(urls.redis_url, BENCH_REDIS_DB)
        say(f"services: Postgres database {BENCH_DATABASE}, Redis db {BENCH_REDIS_DB} ({redis_url})")
        services_runtime.ensure_database(database_url, recreate=True)
        services_runtime.migrate(database_url)
        import redis

        client = redis.Redis.from_url(redis_url)
        client.flushdb()
        client.close()
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TMS_ENV": "test",
            "JWT_SECRET": "bench-" + secrets.token_hex(24),
            "TOKEN_ENCRYPTION_KEYS": generate_key_spec("bench1"),
            "CALLBACK_RATE_LIMIT": "100000000",
            "INSTALL_RATE_LIMIT": "100000000",
            "LOG_LEVEL": "INFO",
            "REFLEX_TELEMETRY_ENABLED": "false",
            "REFLEX_CHECK_LATEST_VERSION": "false",
        }
        # Every provider is played by the sandbox, on an origin of its own (its servers: sandbox_server()).
        env |= sandbox_settings(f"http://127.0.0.1:{free_port()}", "BENCHCANARY" + secrets.token_hex(4))
        ctx = Bench(database_url, redis_url, env)
        ctx.use_settings()
        _seed_demo()
        with ctx.stack:
            yield ctx
    finally:
        services_runtime.stop_services(urls)


def _seed_demo() -> None:
    async def run() -> None:
        from devtools.seed import seed
        from tms_console.persistence.db import dispose_engine, session_scope

        async with session_scope() as session:
            await seed(session)
        await dispose_engine()

    asyncio.run(run())


def token(tenant_id: object, user_id: str, name: str, role: str = "agent") -> str:
    """A JWT as the TMS would sign it (HS256 with the bench's JWT_SECRET)."""
    import uuid

    from tms_console.security.identity import Identity, issue_token
    from tms_console.settings import get_settings

    identity = Identity(user_id, name, uuid.UUID(str(tenant_id)), role)  # type: ignore[arg-type]
    return issue_token(identity, get_settings())


def demo_token(tenant: str = "Acme", email: str = "alice@acme.example", role: str = "agent") -> str:
    from devtools.seed import demo_id

    return token(demo_id(tenant), str(demo_id(tenant, email)), email.split("@")[0].title(), role)


# --- servers -------------------------------------------------------------------------------------


def sandbox_settings(sandbox_url: str, canary: str) -> dict[str, str]:
    """The console's settings that make the sandbox at `sandbox_url` play every provider."""
    import sandbox

    env = {"TMS_SANDBOX": "1", "SANDBOX_BASE_URL": sandbox_url, "SANDBOX_CANARY": canary}
    for values in sandbox.provider_env(sandbox_url, canary).values():
        env |= values
    return env


@contextmanager
def sandbox_server(ctx: Bench, console_url: str) -> Iterator[str]:
    """The sandbox providers (one worker) at the bench's SANDBOX_BASE_URL, registered for `console_url`."""
    port = urlsplit(ctx.env["SANDBOX_BASE_URL"]).port
    with uvicorn_server(
        ctx, "sandbox:app_from_env", name="sandbox", ready_path="/sandbox/discord/_inspect", workers=1,
        PORT=str(port), SANDBOX_CONSOLE_URL=console_url,
    ) as url:  # fmt: skip
        yield url


@contextmanager
def uvicorn_server(
    ctx: Bench,
    app: str,
    *,
    name: str,
    ready_path: str,
    workers: int = WORKERS,
    server: str = "uvicorn",
    **env: str,
) -> Iterator[str]:
    """`uvicorn --factory <app>` (or `granian`, production's server, with `server="granian"`) as a
    subprocess on a free port; the same flags for every server of one kind."""
    port = int(env.pop("PORT", 0) or free_port())
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "uvicorn", "--factory", app,
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--lifespan", "off", "--no-access-log", "--no-proxy-headers", "--log-level", "warning",
    ]  # fmt: skip
    if server == "granian":  # as `reflex run --env prod` serves the app: ASGI, asyncio loop, defaults
        command = [
            str(Path(sys.executable).parent / "granian"), "--interface", "asgi", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-ws",
            "--log-level", "warning", "--no-access-log", app,
        ]  # fmt: skip
    log = (WORK / f"{name}.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        command,
        cwd=ROOT,
        env=ctx.server_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_http(url + ready_path, process, WORK / f"{name}.log", timeout=60)
        SERVER_PIDS[url] = process.pid
        yield url
    finally:
        SERVER_PIDS.pop(url, None)
        stop(process)
        log.close()


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2, follow_redirects=True).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server not ready at {url}:\n{log.read_text()[-3000:]}")


@dataclass
class Console:
    url: str
    pid: int
    log: Path
    started_in: float


@contextmanager
def reflex_console(ctx: Bench) -> Iterator[Console]:
    """The real console, started like tests/utils/console.py does (`reflex run --env prod`), on the
    bench database. Its `.web` lives under BENCH_WORKDIR, so a concurrent test run's build is untouched."""
    from devtools.server import reflex_command, reflex_env

    port = free_port()
    url = f"http://localhost:{port}"
    env = reflex_env(ctx.server_env(PUBLIC_BASE_URL=url, DEMO_LOGIN="1"))  # fig4 measures the demo login
    env["REFLEX_WEB_WORKDIR"] = str(WORK / "reflex" / ".web")
    env["REFLEX_STATES_WORKDIR"] = str(WORK / "reflex" / ".states")
    log_path = WORK / "console.log"
    started = time.monotonic()
    with sandbox_server(ctx, url):  # the providers its Install buttons lead to
        with log_path.open("w") as log:
            process = subprocess.Popen(  # noqa: S603 - fixed argv
                reflex_command(str(port)),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_http(url + "/api/health", process, log_path, timeout=300)
            _wait_http(url + "/login", process, log_path, timeout=60)
            yield Console(url, process.pid, log_path, time.monotonic() - started)
        finally:
            stop(process)


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def paint_probe(watched: dict[str, str]) -> str:
    """An init script: `window.__paint.seen[name]` = performance.now() (ms since the navigation's start) of
    the first animation frame in which `watched[name]` (a CSS selector) is visible, and `window.__paint.cls`
    the page's cumulative layout shift. What the user sees, to the frame; Playwright's own waits poll with
    a backoff (every 500 ms after the first 300) instead."""
    return """
(() => {
  const probe = { seen: {}, cls: 0 };
  window.__paint = probe;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) probe.cls += entry.value;
  }).observe({ type: "layout-shift", buffered: true });
  const watched = WATCHED;
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const tick = () => {
    for (const [name, selector] of Object.entries(watched)) {
      const el = probe.seen[name] === undefined && document.querySelector(selector);
      if (el && visible(el)) probe.seen[name] = performance.now();
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
""".replace("WATCHED", json.dumps(watched))


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- profiling (py-spy, a dev tool: BENCH_PROFILE=1) -----------------------------------------------

PROFILE = os.environ.get("BENCH_PROFILE", "") == "1"


def server_cpu(url: str) -> float:
    """CPU seconds (user + system) the server at `url` (one worker: its process) has used so far: CPU per
    request is steadier than a rate on a shared machine."""
    import psutil

    process = psutil.Process(SERVER_PIDS[url])
    total = 0.0
    for one in [process, *process.children(recursive=True)]:  # granian: its worker is a child process
        times = one.cpu_times()
        total += times.user + times.system
    return total


@contextmanager
def profiled(url: str, name: str) -> Iterator[dict[str, list[tuple[str, float]]]]:
    """Sample the server at `url` (one worker: its process) with py-spy while the block runs.

    Yields a dict that, after the block, holds "self" and "total": the top functions by the share of
    samples they were running in (self) or on the stack of (total). Empty when BENCH_PROFILE is not 1.
    """
    top: dict[str, list[tuple[str, float]]] = {}
    if not PROFILE:
        yield top
        return
    out = WORK / f"{name}.pyspy.txt"
    spy = Path(sys.executable).parent / "py-spy"
    command = [str(spy), "record", "--pid", str(SERVER_PIDS[url]), "--format", "raw", "--rate", "200",
               "--nonblocking", "--subprocesses", "--output", str(out)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        time.sleep(0.5)
        yield top
    finally:
        process.send_signal(2)  # SIGINT: py-spy writes its output and exits
        process.wait(timeout=60)
    top.update(summarize_profile(out, 80))


def _frame(raw: str) -> str:
    """`function (path/to/file.py:line)` -> `function (file.py)`, or `(tms_console/...py)` for ours."""
    found = re.match(r"(.*) \((.*):\d+\)$", raw)
    if not found:
        return raw
    name, path = found.groups()
    path = path[path.index("tms_console/") :] if "tms_console/" in path else path.rsplit("/", 1)[-1]
    return f"{name} ({path})"


def summarize_profile(path: Path, count: int = 12) -> dict[str, list[tuple[str, float]]]:
    """py-spy raw (collapsed) stacks -> top functions by self and by total share of non-idle samples."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        # `--subprocesses` puts the process first: not a function (a stack of it alone has no Python frame)
        frames = [_frame(f) for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames or not number.isdigit():
            continue
        n = int(number)
        samples += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + n

    def best(counts: dict[str, int]) -> list[tuple[str, float]]:
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:count]
        return [(frame, n / samples) for frame, n in ranked] if samples else []

    return {"self": best(own), "total": best(total), "samples": [("samples", float(samples))]}
