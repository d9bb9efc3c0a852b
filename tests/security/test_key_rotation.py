"""`python -m tms_console.cli rotate-keys` against real Postgres, run as a real subprocess.

It runs on a database of its own (next to the session's test database): the command rotates
every row of a database by design, and must neither disturb nor be disturbed by other tests' rows.
A checker thread decrypts every row over and over while the command is killed with SIGKILL at
different moments, including in the middle of a batch transaction (held there by a row lock).
"""

from __future__ import annotations

import hashlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from devtools import services as services_runtime
from tms_console.domain.values import Sealed
from tms_console.security.keyring import Keyring, generate_key_spec, row_aad

ROOT = Path(__file__).resolve().parents[2]
BATCH = 100  # the command's default --batch-size
TYPES = ("discord", "slack", "webhook")
NEW = os.environ["TOKEN_ENCRYPTION_KEYS"]  # the session's keys (conftest), whose first key is "new"
OLD1, OLD2 = generate_key_spec("old1"), generate_key_spec("old2")
NEW_KID = Keyring.parse(NEW).primary_id
ALL_KEYS = Keyring.parse(f"{NEW},{OLD1},{OLD2}")
SELECT_ROWS = """
    SELECT c.integration_id, p.tenant_id, p.project_id, p.integration_type, c.key_id, c.nonce, c.ciphertext
    FROM integration_credentials c JOIN project_integrations p ON p.id = c.integration_id
"""


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="module")
def rotation_url(database_url: str) -> Iterator[str]:
    name = urlsplit(database_url).path.lstrip("/") + "_rot"
    url = services_runtime.with_database(database_url, name)
    services_runtime.ensure_database(url, recreate=True)
    services_runtime.migrate(url)
    yield _libpq(url)
    with psycopg.connect(
        _libpq(services_runtime.with_database(database_url, "postgres")), autocommit=True
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def conn(rotation_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(rotation_url, autocommit=True) as connection:
        connection.execute(
            "TRUNCATE tenants, projects, project_integrations, integration_credentials, rest_hooks CASCADE"
        )
        yield connection


def _aad(tenant: object, project: object, kind: str, row: object) -> bytes:
    return row_aad(tenant_id=tenant, project_id=project, integration_type=kind, row_id=row)


def plant(conn: psycopg.Connection, count: int) -> dict[uuid.UUID, set[str]]:
    """`count` credential rows: 90 % split between old1 and old2, 10 % already under the new key.

    Returns each row's allowed plaintext token(s).
    """
    tenant = uuid.uuid4()
    conn.execute("INSERT INTO tenants (id, name) VALUES (%s, 'Rotation Co')", (tenant,))
    projects = [uuid.uuid4() for _ in range(count // len(TYPES) + 1)]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, %s)",
            [(p, tenant, f"P{i}") for i, p in enumerate(projects)],
        )
    rings = [Keyring.parse(OLD1), Keyring.parse(OLD2), Keyring.parse(NEW)]
    integrations, credentials, expected = [], [], {}
    for i in range(count):
        row, project, kind = uuid.uuid4(), projects[i // len(TYPES)], TYPES[i % len(TYPES)]
        token = f"tok-{i}-{uuid.uuid4().hex}"
        ring = rings[2] if i % 10 == 0 else rings[i % 2]
        sealed = ring.seal({"access_token": token}, aad=_aad(tenant, project, kind, row))
        integrations.append((row, tenant, project, kind))
        credentials.append((row, sealed.key_id, sealed.nonce, sealed.ciphertext))
        expected[row] = {token}
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, created_at,"
            " updated_at) VALUES (%s, %s, %s, %s, now(), now())",
            integrations,
        )
        cur.executemany(
            "INSERT INTO integration_credentials (integration_id, key_id, nonce, ciphertext, updated_at)"
            " VALUES (%s, %s, %s, %s, now())",
            credentials,
        )
    return expected


def problems(conn: psycopg.Connection, expected: dict[uuid.UUID, set[str]]) -> list[str]:
    """Every row decrypts (with the old and new keys) to one of its allowed plaintexts."""
    found = []
    rows = conn.execute(SELECT_ROWS).fetchall()
    if len(rows) != len(expected):
        found.append(f"{len(rows)} rows, expected {len(expected)}")
    for row, tenant, project, kind, kid, nonce, ciphertext in rows:
        try:
            token = ALL_KEYS.open(Sealed(kid, nonce, ciphertext), aad=_aad(tenant, project, kind, row))
        except Exception as exc:
            found.append(f"{row} under {kid}: {exc}")
            continue
        if token.get("access_token") not in expected[row]:
            found.append(f"{row}: wrong plaintext")
    return found


def digest(conn: psycopg.Connection) -> str:
    hashed = hashlib.sha256()
    for table, key in (("integration_credentials", "integration_id"), ("project_integrations", "id")):
        for (text,) in conn.execute(f"SELECT t::text FROM {table} t ORDER BY {key}"):
            hashed.update(text.encode())
    return hashed.hexdigest()


def kid_counts(conn: psycopg.Connection) -> dict[str, int]:
    return dict(
        conn.execute("SELECT key_id, count(*) FROM integration_credentials GROUP BY key_id").fetchall()
    )


def cli_env(rotation_url: str, keys: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TOKEN_ENCRYPTION_KEYS"}
    env |= {"DATABASE_URL": rotation_url, "PYTHONPATH": str(ROOT), **extra}
    if keys is not None:
        env["TOKEN_ENCRYPTION_KEYS"] = keys
    return env


class Run:
    """The command as a subprocess; a thread queues its stdout lines as they come."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tms_console.cli", "rotate-keys"],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.ended = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _next(self, *, block: bool = True) -> str | None:
        """The next stdout line; None at the end of output (or, not blocking, when none is queued)."""
        if self.ended:
            return None
        try:
            line = self.lines.get(timeout=30) if block else self.lines.get_nowait()
        except queue.Empty:
            if block:
                raise
            return None
        if line is None:
            self.ended = True
        else:
            self.seen.append(line)
        return line

    def next_progress(self) -> str:
        while (line := self._next()) is not None:
            if line.startswith("re-encrypted "):
                return line
        raise AssertionError(f"exited without progress: {self.seen}")

    def printed(self) -> int:
        """Rows the command has reported re-encrypted so far (it reports after each commit)."""
        while self._next(block=False) is not None:
            pass
        done = [int(line.split()[1].split("/")[0]) for line in self.seen if line.startswith("re-encrypted")]
        return max(done, default=0)

    def output(self) -> list[str]:
        """All of stdout, once the command has exited."""
        while self._next() is not None:
            pass
        return self.seen

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(30) == -signal.SIGKILL


def wait_until(conn: psycopg.Connection, query: str, condition: object, run: Run | None = None) -> None:
    """Poll Postgres until `query` returns `condition` (a state, not a duration; a safety limit generous
    enough for a busy 2-core machine, where starting the command alone can take half a minute)."""
    deadline = time.monotonic() + 120
    while conn.execute(query).fetchone() != condition:
        assert run is None or run.proc.poll() is None, f"command exited: {run.seen}"
        assert time.monotonic() < deadline, f"never reached: {query}"
        time.sleep(0.02)


BLOCKED = (
    "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock' AND query LIKE 'UPDATE integration_credentials%%'"
)
# The killed command's backend, once the lock is released, notices the dead client and rolls back.
ORPHAN_GONE = (
    "SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = current_database()"
    " AND query LIKE 'UPDATE integration_credentials%%'"
)


def pending_ids(conn: psycopg.Connection) -> list[uuid.UUID]:
    query = "SELECT integration_id FROM integration_credentials WHERE key_id <> %s ORDER BY integration_id"
    return [row for (row,) in conn.execute(query, (NEW_KID,))]


class Checker(threading.Thread):
    """Decrypts every row again and again, on its own connection, while the command runs and dies."""

    def __init__(self, url: str, expected: dict[uuid.UUID, set[str]]) -> None:
        super().__init__(daemon=True)
        self.url, self.expected = url, expected
        self.stop, self.rounds = threading.Event(), 0
        self.found: list[str] = []

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                self.found += problems(conn, self.expected)
                self.rounds += 1

    def wait_rounds(self, count: int = 2) -> None:
        """Let it finish `count` more full rounds (a state, not a duration; 30 s safety limit)."""
        target, deadline = self.rounds + count, time.monotonic() + 30
        while self.rounds < target:
            assert self.is_alive() and time.monotonic() < deadline
            time.sleep(0.01)


def test_refuses_missing_malformed_or_changed_keys_and_changes_nothing(
    rotation_url: str, conn: psycopg.Connection, tmp_path: Path
) -> None:
    expected = plant(conn, 600)
    before = digest(conn)
    counts = kid_counts(conn)
    cases = [
        # No public fallback key in dev either.
        (cli_env(rotation_url, None), "TOKEN_ENCRYPTION_KEYS must be set"),
        (cli_env(rotation_url, None, TMS_ENV="dev"), "TOKEN_ENCRYPTION_KEYS must be set"),
        (cli_env(rotation_url, f"{NEW},old1:not-base64!!"), "key 'old1': not valid base64"),
        (cli_env(rotation_url, f"{NEW},{OLD1},old2"), f"entry {NEW.count(',') + 3}: expected kid:base64"),
        (cli_env(rotation_url, f"{NEW},{OLD1}"), f"kid 'old2': {counts['old2']} rows, kid not in"),
        (
            cli_env(rotation_url, f"{NEW},{generate_key_spec('old1')},{OLD2}"),
            f"kid 'old1': {counts['old1']} rows do not decrypt (key material changed",
        ),
        (
            cli_env(rotation_url, f"{generate_key_spec(NEW_KID)},{OLD1},{OLD2}"),
            f"kid '{NEW_KID}': {counts[NEW_KID]} rows do not decrypt",
        ),
    ]
    secrets = [spec.partition(":")[2] for spec in (NEW, OLD1, OLD2)]
    for env, reason in cases:
        result = subprocess.run(
            [sys.executable, "-m", "tms_console.cli", "rotate-keys"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, (reason, result.stdout, result.stderr)
        assert result.stderr.startswith("rotate-keys refused: ") and result.stderr.count("\n") == 1
        assert reason in result.stderr
        assert "re-encrypted" not in result.stdout
        assert not any(secret in result.stdout + result.stderr for secret in secrets)
        assert not any("tok-" in out for out in (result.stdout, result.stderr))
        assert digest(conn) == before, reason
    assert problems(conn, expected) == []


def test_rotation_survives_kill_9_and_converges(
    rotation_url: str, conn: psycopg.Connection, tmp_path: Path
) -> None:
    expected = plant(conn, 3000)
    env = cli_env(rotation_url, f"{NEW},{OLD1},{OLD2}")
    already_new = conn.execute(
        "SELECT integration_id, nonce, ciphertext FROM integration_credentials WHERE key_id = %s", (NEW_KID,)
    ).fetchall()
    pending = pending_ids(conn)
    assert len(pending) == 2700 and len(already_new) == 300
    checker = Checker(rotation_url, expected)
    checker.start()

    def rotated() -> int:
        return 2700 - len(pending_ids(conn))

    # 1. Killed while a batch transaction is open: held on a row locked a third of the way in.
    target = pending[900 + 37]
    with psycopg.connect(rotation_url) as locker:
        locker.execute(
            "SELECT 1 FROM integration_credentials WHERE integration_id = %s FOR UPDATE", (target,)
        )
        run = Run(env, tmp_path)
        wait_until(conn, BLOCKED, (True,), run)
        while run.next_progress() != "re-encrypted 900/2700":
            pass
        assert rotated() == 900  # the earlier batches are committed, as their progress lines said
        checker.wait_rounds()  # rows decrypt while a batch transaction is open
        assert problems(conn, expected) == []
        run.kill()
    wait_until(conn, ORPHAN_GONE, (True,))
    assert rotated() == 900  # the open batch rolled back as a whole
    assert problems(conn, expected) == []

    # 2. Killed right after it printed its first progress (a lock two thirds in keeps it from finishing).
    with psycopg.connect(rotation_url) as locker:
        locker.execute(
            "SELECT 1 FROM integration_credentials WHERE integration_id = %s FOR UPDATE", (pending[1800],)
        )
        run = Run(env, tmp_path)
        assert run.next_progress().endswith("/1800")
        run.kill()
        assert 900 + run.printed() <= rotated() < 2700
    wait_until(conn, ORPHAN_GONE, (True,))
    assert problems(conn, expected) == []

    # 3. A concurrent install rewrites a row (under an old key) after the command read it: the
    #    guarded UPDATE must not overwrite it; a second pass re-encrypts the new secret.
    left = pending_ids(conn)
    target = left[len(left) // 2]
    owner = conn.execute(
        "SELECT tenant_id, project_id, integration_type FROM project_integrations WHERE id = %s", (target,)
    ).fetchone()
    assert owner is not None
    tenant, project, kind = owner
    with psycopg.connect(rotation_url) as locker:
        locker.execute(
            "SELECT 1 FROM integration_credentials WHERE integration_id = %s FOR UPDATE", (target,)
        )
        run = Run(env, tmp_path)
        wait_until(conn, BLOCKED, (True,), run)
        expected[target].add("reinstalled")
        sealed = Keyring.parse(OLD1).seal(
            {"access_token": "reinstalled"}, aad=_aad(tenant, project, kind, target)
        )
        locker.execute(
            "UPDATE integration_credentials SET key_id = %s, nonce = %s, ciphertext = %s"
            " WHERE integration_id = %s",
            (sealed.key_id, sealed.nonce, sealed.ciphertext, target),
        )
    assert run.proc.wait(60) == 0, run.proc.stderr.read() if run.proc.stderr else ""
    assert run.output()[-1] == f"done: {len(left)} credentials re-encrypted under key '{NEW_KID}'"
    expected[target] = {"reinstalled"}

    checker.stop.set()
    checker.join(30)
    assert checker.found == []
    assert problems(conn, expected) == []
    assert kid_counts(conn) == {NEW_KID: 3000}
    # Rows already under the new key were not touched.
    for row, nonce, ciphertext in already_new:
        assert conn.execute(
            "SELECT nonce, ciphertext FROM integration_credentials WHERE integration_id = %s", (row,)
        ).fetchone() == (nonce, ciphertext)

    # 4. Rerunning converges: nothing left to do, and it says so.
    before = digest(conn)
    result = subprocess.run(
        [sys.executable, "-m", "tms_console.cli", "rotate-keys"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"nothing to do: all 3000 credentials are under key '{NEW_KID}'\n"
    assert digest(conn) == before
    assert kid_counts(conn) == {NEW_KID: 3000}


def test_rest_hook_targets_are_re_encrypted_too(
    rotation_url: str, conn: psycopg.Connection, tmp_path: Path
) -> None:
    expected = plant(conn, 30)
    tenant, project = uuid.uuid4(), uuid.uuid4()
    hooks = {}
    for ring in (Keyring.parse(OLD1), Keyring.parse(OLD2), Keyring.parse(NEW)):
        hook = uuid.uuid4()
        hooks[hook] = {"url": f"https://hooks.example/{uuid.uuid4().hex}", "signing_secret": "whsec_x"}
        sealed = ring.seal(hooks[hook], aad=_aad(tenant, project, "rest_hook", hook))
        conn.execute(
            "INSERT INTO rest_hooks (id, tenant_id, project_id, event, display_url, key_id, nonce,"
            " ciphertext) VALUES (%s, %s, %s, '*', 'https://hooks.example', %s, %s, %s)",
            (hook, tenant, project, sealed.key_id, sealed.nonce, sealed.ciphertext),
        )

    result = subprocess.run(
        [sys.executable, "-m", "tms_console.cli", "rotate-keys"],
        env=cli_env(rotation_url, f"{NEW},{OLD1},{OLD2}"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"done: 29 credentials re-encrypted under key '{NEW_KID}'"
    assert problems(conn, expected) == [] and kid_counts(conn) == {NEW_KID: 30}
    rows = conn.execute("SELECT id, key_id, nonce, ciphertext FROM rest_hooks").fetchall()
    assert {kid for _, kid, _, _ in rows} == {NEW_KID} and len(rows) == 3
    new_only = Keyring.parse(NEW)
    for hook, kid, nonce, ciphertext in rows:
        opened = new_only.open(Sealed(kid, nonce, ciphertext), aad=_aad(tenant, project, "rest_hook", hook))
        assert opened == hooks[hook]
