"""Fault rig: the console API as a subprocess on a PRIVATE Postgres and a PRIVATE Redis.

The sandbox Discord is a separate app, served from this test process on the shared test Redis, so it
keeps working (and keeps counting token exchanges) while the private services are down.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from sandbox import create_app
from tests.utils.live import free_port, sandbox_env, serve_app
from tests.utils.private_services import PrivatePostgres, PrivateRedis, Rig

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CANARY = "CANARYFAULT" + secrets.token_hex(6)
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
}


@contextmanager
def _console(env: dict[str, str], port: int, log: Path, log_config: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "uvicorn", "--factory", "tms_console.api:create_api"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-config", str(log_config)]
    with log.open("w") as out:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError("console API exited:\n" + log.read_text()[-3000:])
            try:
                if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("console API did not become healthy:\n" + log.read_text()[-3000:])
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="module")
def private_rig(redis_url: str) -> Iterator[Rig]:
    """Everything started here is stopped here, in reverse order, whatever happened in between."""
    ARTIFACTS.mkdir(exist_ok=True)
    with ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="tms-faults-"))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        tmp.chmod(0o755)  # the unprivileged Postgres user must traverse it
        redis = PrivateRedis(tmp / "redis")
        stack.callback(redis.stop)
        redis.start()
        postgres = PrivatePostgres(tmp / "postgres")
        stack.callback(postgres.save_log, ARTIFACTS / "faults-postgres.log")
        stack.callback(postgres.stop)
        postgres.init()
        postgres.start()

        console_port = free_port()
        console_url = f"http://127.0.0.1:{console_port}"
        sandbox_app = create_app(redis_url=redis_url, console_url=console_url, canary=CANARY)
        sandbox_url = stack.enter_context(serve_app(sandbox_app, free_port()))

        database_url = postgres.url("tms_console")
        env = (
            os.environ
            | sandbox_env(sandbox_url, CANARY)
            | {
                "TMS_ENV": "test",
                "DATABASE_URL": database_url,
                "REDIS_URL": redis.url,
                "PUBLIC_BASE_URL": console_url,
                "PYTHONUNBUFFERED": "1",
            }
        )
        prepared = subprocess.run(  # create, migrate and seed the private database
            [sys.executable, "-m", "devtools.server", "prepare"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if prepared.returncode:
            raise RuntimeError("preparing the private database failed:\n" + prepared.stderr[-3000:])
        log_config = tmp / "logging.json"
        log_config.write_text(json.dumps(LOG_CONFIG))
        log = ARTIFACTS / "faults-console.log"
        stack.enter_context(_console(env, console_port, log, log_config))
        yield Rig(console_url, sandbox_url, postgres, redis, database_url, log, CANARY, env)


@pytest.fixture
def rig(private_rig: Rig) -> Iterator[Rig]:
    """The module's rig; whatever a test stopped is running again afterwards, even if it failed."""
    yield private_rig
    if private_rig.redis.process is None:
        private_rig.redis.start()
    if not private_rig.postgres.running:
        private_rig.postgres.start()
