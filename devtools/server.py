"""`python -m devtools.server run|prepare|emit-event`: the one-command local console (dev only).

run: start embedded Postgres/Redis when DATABASE_URL/REDIS_URL are unset, create the database,
migrate, seed the demo, serve the sandbox providers on their own port, point every provider without
credentials at them, serve the console (Reflex's prod build) with TMS_ENV=dev and the demo login, and
run one delivery worker beside it. Ctrl-C stops what it started.

emit-event: from another shell while `run` serves, a simulated ticket event for a project (see `emit_event`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

import sandbox
from devtools import services as services_runtime
from devtools.seed import demo_id
from tms_console.security.keyring import generate_key_spec

ROOT = Path(__file__).resolve().parent.parent
DEV_ENV = services_runtime.DATA_DIR / "dev.env"


def reflex_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for any `reflex` call: the venv's Node/Bun first on PATH, offline-safe flags."""
    env = dict(base if base is not None else os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    env.setdefault("REFLEX_CHECK_LATEST_VERSION", "false")
    env.setdefault("REFLEX_HTTP_CLIENT_BIND_ADDRESS", "0.0.0.0")  # noqa: S104 - skips a network probe
    env.setdefault("GRANIAN_WORKERS", "2")
    if "NPM_CONFIG_REGISTRY" not in env:
        registry = _npm_registry(env)
        if registry:
            env["NPM_CONFIG_REGISTRY"] = registry
    return env


def reflex_command(port: str) -> list[str]:
    """`reflex run` in prod mode: one port serves the frontend, the websocket and the API."""
    reflex = str(Path(sys.executable).parent / "reflex")
    return [reflex, "run", "--env", "prod", "--frontend-port", port, "--backend-port", port]


def _npm_registry(env: dict[str, str]) -> str:
    npm = shutil.which("npm", path=env["PATH"])
    if not npm:
        return ""
    result = subprocess.run(  # noqa: S603 - fixed argv
        [npm, "config", "get", "registry"], capture_output=True, text=True, env=env, check=False
    )
    return result.stdout.strip()


def _dev_secrets() -> dict[str, str]:
    """Random secrets generated once into .data/dev.env, so restarts keep decrypting tokens."""
    if not DEV_ENV.exists():
        DEV_ENV.parent.mkdir(parents=True, exist_ok=True)
        DEV_ENV.write_text(
            f"JWT_SECRET={os.urandom(32).hex()}\nTOKEN_ENCRYPTION_KEYS={generate_key_spec('dev1')}\n"
        )
        DEV_ENV.chmod(0o600)
    pairs = (line.split("=", 1) for line in DEV_ENV.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def prepare(database_url: str) -> None:
    """Create the database if needed, migrate it and load the demo seed."""
    services_runtime.ensure_database(database_url)
    services_runtime.migrate(database_url)
    asyncio.run(_seed())


async def _seed() -> None:
    from devtools.seed import seed
    from tms_console.persistence.db import dispose_engine, session_scope

    async with session_scope() as session:
        await seed(session)
    await dispose_engine()


def dev_env(base: dict[str, str], port: str) -> dict[str, str]:
    """What the console runs with in dev: explicit dev mode, demo login and stand-ins, unless set."""
    env = dict(base)
    for key, value in _dev_secrets().items():
        env.setdefault(key, value)
    env.setdefault("TMS_ENV", "dev")
    env.setdefault("DEMO_LOGIN", "1")
    env.setdefault("TMS_SANDBOX", "1")
    env.setdefault("PUBLIC_BASE_URL", f"http://localhost:{port}")
    env.setdefault("SANDBOX_BASE_URL", f"http://localhost:{int(port) + 1}")
    env.setdefault("SANDBOX_CANARY", "sbx")
    if env["TMS_SANDBOX"] == "1":
        env.update(stand_in_env(env))
    return env


def stand_in_env(env: dict[str, str]) -> dict[str, str]:
    """The sandbox's settings for every provider that has no credentials or endpoint of its own
    (in the environment or in `.env`)."""
    configured = {k.upper() for k, v in dotenv_values(ROOT / ".env").items() if v} | {
        k for k, v in env.items() if v
    }
    chosen: dict[str, str] = {}
    for key, values in sandbox.provider_env(env["SANDBOX_BASE_URL"], env["SANDBOX_CANARY"]).items():
        prefix = key.upper() + "_"
        if not configured & {prefix + name for name in ("CLIENT_ID", "APP_ID", "API_BASE")}:
            chosen |= values
    return chosen


def run() -> int:
    urls = services_runtime.ensure_services()
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", services_runtime.with_database(urls.database_url, "tms_console"))
    env.setdefault("REDIS_URL", urls.redis_url)
    env = dev_env(env, env.get("PORT", "3000"))
    os.environ.update(env)
    try:
        prepare(env["DATABASE_URL"])
        return _serve(reflex_env(env))
    finally:
        services_runtime.stop_services(urls)


def _stop_on_sigterm() -> None:
    """`kill <pid>` behaves like Ctrl-C: stop the console, then the services we started."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _serve(env: dict[str, str]) -> int:
    port = env.get("PORT", "3000")
    # The job worker beside the console, with the same environment: it delivers ticket events, runs the
    # health checks and fetches a first install's details.
    processes = [_start(reflex_command(port), _console_env(env)), _start(worker_command(), env)]
    sandbox_note = "Providers without credentials are played by the sandbox (TMS_SANDBOX=0 turns it off).\n"
    if env.get("TMS_SANDBOX") == "1":
        processes.append(_start(sandbox_command(env["SANDBOX_BASE_URL"], env["PUBLIC_BASE_URL"]), env))
        botfather = env["SANDBOX_BASE_URL"] + "/sandbox/telegram/botfather"
        sandbox_note += f"  Sandbox providers: {env['SANDBOX_BASE_URL']} (BotFather: {botfather}).\n"
    print(
        f"\n  TMS Integrations Console: {env['PUBLIC_BASE_URL']}\n"
        "  Sign in on the demo login page as Alice Agent (Acme) or Gary Agent (Globex);\n"
        "  the admins are Ada Admin and Greta Admin.\n"
        f"  {sandbox_note}"
        "  A job worker (python -m tms_console.worker: deliveries, checks, install details) runs beside it.\n"
        "  Ctrl-C stops the console, the worker and the services it started.\n",
        flush=True,
    )
    _stop_on_sigterm()
    try:
        return processes[0].wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in processes:
            stop(process)


def worker_command() -> list[str]:
    """`python -m tms_console.worker`: delivers ticket events; SIGTERM stops it after the jobs in hand."""
    return [sys.executable, "-m", "tms_console.worker"]


def sandbox_command(sandbox_url: str, console_url: str) -> list[str]:
    """`python -m sandbox` on the port of SANDBOX_BASE_URL, registered for the console at `console_url`."""
    port = str(urlsplit(sandbox_url).port or 80)
    return [sys.executable, "-m", "sandbox", "--port", port, "--console-url", console_url]


def _console_env(env: dict[str, str]) -> dict[str, str]:
    """The console's Granian workers add their metrics up in one emptied directory (prometheus_client's
    multiprocess mode), so `/metrics` counts every worker's installs, whichever one answers the scrape.
    The job worker keeps its own metrics port and counters."""
    if "PROMETHEUS_MULTIPROC_DIR" in env:
        return env
    directory = services_runtime.DATA_DIR / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return {**env, "PROMETHEUS_MULTIPROC_DIR": str(directory)}


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603 - fixed argv


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it after 20 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def emit_event(args: list[str]) -> int:
    """`python -m devtools.server emit-event [--project ID] [--type TYPE]`: the product's dev-only
    `python -m tms_console.cli emit-event` with the environment `make run` gives the console (its database,
    dev secrets, TMS_ENV=dev), from another shell; the project defaults to Acme's Billing Desk, the
    project Alice lands on."""
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        if not (services_runtime.DATA_DIR / "postgres" / "postmaster.pid").exists():
            print("emit-event: start `make run` first (its database is not running)", file=sys.stderr)
            return 2
        embedded = services_runtime.embedded_postgres_url()  # reuses the one `make run` started
        env["DATABASE_URL"] = services_runtime.with_database(embedded, "tms_console")
    env = dev_env(env, env.get("PORT", "3000"))
    if "--project" not in args:
        args = ["--project", str(demo_id("Acme", "Billing Desk")), *args]
    command = [sys.executable, "-m", "tms_console.cli", "emit-event", *args]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603 - fixed argv


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "run"
    if command == "run":
        return run()
    if command == "prepare":
        prepare(os.environ["DATABASE_URL"])
        return 0
    if command == "emit-event":
        return emit_event(argv[2:])
    print(
        "usage: python -m devtools.server [run|prepare|emit-event [--project ID] [--type TYPE]]",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
