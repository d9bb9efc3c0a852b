"""`python -m devtools.server run|prepare`: the one-command local console.

run: start embedded Postgres/Redis when DATABASE_URL/REDIS_URL are unset, create the database,
migrate, seed the demo, turn the sandbox providers on and serve the console in prod mode.
Ctrl-C stops what it started.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from devtools import services as services_runtime
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


def run() -> int:
    urls = services_runtime.ensure_services()
    env = os.environ.copy()
    for key, value in _dev_secrets().items():
        env.setdefault(key, value)
    env.setdefault("DATABASE_URL", services_runtime.with_database(urls.database_url, "tms_console"))
    env.setdefault("REDIS_URL", urls.redis_url)
    env.setdefault("TMS_SANDBOX", "1")
    env.setdefault("TMS_ENV", "dev")
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
    print(
        f"\n  TMS Integrations Console: http://localhost:{port}\n"
        "  Sign in on the demo login page as Alice Agent (Acme) or Gary Agent (Globex);\n"
        "  the admins are Ada Admin and Greta Admin. Providers run against the built-in sandbox.\n"
        "  Ctrl-C stops the console and the services it started.\n",
        flush=True,
    )
    command = reflex_command(port)
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
    _stop_on_sigterm()
    try:
        return process.wait()
    except KeyboardInterrupt:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        return 0


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "run"
    if command == "run":
        return run()
    if command == "prepare":
        prepare(os.environ["DATABASE_URL"])
        return 0
    print("usage: python -m devtools.server [run|prepare]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
