"""SECURITY.md "Secrets": refusing to start without a usable key, and what a row that no longer decrypts
does at use time (needs reconnect, no 500, no provider call with garbage)."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from devtools.seed import demo_id
from tests.integration.test_install_flow import browser, inspect, install, query_of, row
from tests.utils.identities import project_id, token_for
from tests.utils.live import free_port, production_env
from tms_console.security.keyring import generate_key_spec

ACME = "Acme"
SERVE = [sys.executable, "-m", "uvicorn", "--factory", "tms_console.api:create_api", "--port"]
SECRET_LOOKING = "k9:" + "QUJD" * 5 + "TOPSECRET"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (None, "TOKEN_ENCRYPTION_KEYS must be set"),
        ("", "TOKEN_ENCRYPTION_KEYS must be set"),
        ("no-kid-here", "TOKEN_ENCRYPTION_KEYS"),
        (SECRET_LOOKING, "not valid base64"),
        ("k1:" + "QUJD" * 4, "32 bytes"),
    ],
    ids=["missing", "empty", "no-kid", "bad-base64", "short-key"],
)
def test_the_app_refuses_to_start_without_a_usable_key(keys, message, database_url, redis_url) -> None:
    env = production_env(JWT_SECRET="x" * 40)
    env.pop("TOKEN_ENCRYPTION_KEYS", None)
    if keys is not None:
        env["TOKEN_ENCRYPTION_KEYS"] = keys
    command = [*SERVE, str(free_port())]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "Uvicorn running" not in output
    assert message in output
    assert "TOPSECRET" not in output and "QUJDQUJD" not in output  # no key material echoed


def test_a_valid_key_starts(database_url, redis_url) -> None:
    """Control for the test above: the same command with a good key serves."""
    keys = generate_key_spec("k1")
    env = production_env(JWT_SECRET="x" * 40, TOKEN_ENCRYPTION_KEYS=keys)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "tms_console.api:create_api",
        "--port",
        str(port),
    ]
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    answer = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            else:
                pytest.fail("the console did not start with a valid key")
            assert answer.status_code == 200
        finally:
            server.terminate()


@pytest.mark.parametrize("damage", ["flip-byte", "unknown-kid", "truncate"])
def test_a_row_that_does_not_decrypt_needs_reconnect_and_is_never_used(live_url, db, damage) -> None:
    project = project_id(ACME, "Onboarding")
    tenant = demo_id(ACME)
    with browser(live_url) as client:
        done = install(client, "slack", project)
        assert query_of(done.headers["location"])["status"] == "success"
    row_id = row(db, "slack", project)[0]
    if damage == "flip-byte":
        db.execute(
            "UPDATE integration_credentials "
            "SET ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1) WHERE integration_id = %s",
            (row_id,),
        )
    elif damage == "unknown-kid":
        db.execute("UPDATE integration_credentials SET key_id = 'gone' WHERE integration_id = %s", (row_id,))
    else:
        db.execute(
            "UPDATE integration_credentials SET ciphertext = substring(ciphertext from 1 for 5) "
            "WHERE integration_id = %s",
            (row_id,),
        )
    api = {"Authorization": f"Bearer {token_for(ACME, 'ada@acme.example')}"}
    base = f"/v1/tenants/{tenant}/projects/{project}/integrations"
    with httpx.Client(base_url=live_url, headers=api) as client:
        listing = client.get(base)
        assert listing.status_code == 200
        status = {item["type"]: item["status"] for item in listing.json()["integrations"]}
        assert status["slack"] == "needs_reconnect"
        revocations = inspect(client, "slack")["revocations"]
        assert client.delete(f"{base}/slack").status_code == 204
        assert inspect(client, "slack")["revocations"] == revocations, "a garbage token reached the provider"
    assert row(db, "slack", project) is None
