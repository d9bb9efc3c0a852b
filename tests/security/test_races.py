"""Concurrency over real HTTP against the live API and sandbox: each race is run ROUNDS times.

Requests of one race are released together by a barrier, so they really overlap at the server.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import psycopg
import pytest

from sandbox.fixtures import DISCORD_GUILDS
from tests.utils.flow import (
    Callback,
    after,
    approved_callback,
    async_client,
    bearer,
    follow,
    outcome,
    query_of,
    race,
    sandbox_count,
)
from tests.utils.identities import identity, project_id, token_for
from tms_console.domain.values import Sealed
from tms_console.security.keyring import configured_keyring, row_aad

ROUNDS = 100
STAGGER = (-0.008, -0.004, 0.0, 0.004, 0.008, 0.012, 0.016, 0.020)
ACME, ALICE, ADA = "Acme", "alice@acme.example", "ada@acme.example"


@pytest.fixture(scope="module")
async def client(live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with async_client(live_url) as shared:
        yield shared


def integrations(db: psycopg.Connection, project: uuid.UUID, kind: str) -> list[tuple[Any, ...]]:
    """Rows of the project's integration of `kind`, each with its credentials (or NULLs)."""
    return db.execute(
        "SELECT i.id, i.tenant_id, i.meta, i.installed_by_name, c.key_id, c.nonce, c.ciphertext "
        "FROM project_integrations i LEFT JOIN integration_credentials c ON c.integration_id = i.id "
        "WHERE i.project_id = %s AND i.integration_type = %s",
        (project, kind),
    ).fetchall()


def orphan_credentials(db: psycopg.Connection) -> int:
    return db.execute(
        "SELECT count(*) FROM integration_credentials c "
        "WHERE NOT EXISTS (SELECT 1 FROM project_integrations i WHERE i.id = c.integration_id)"
    ).fetchone()[0]


def installed_events(db: psycopg.Connection, project: uuid.UUID, kind: str) -> int:
    """Installs saved, first ones and reconnects over the row alike."""
    return db.execute(
        "SELECT count(*) FROM integration_events "
        "WHERE project_id = %s AND integration_type = %s AND action IN ('installed', 'reconnected')",
        (project, kind),
    ).fetchone()[0]


def reason_of(answer: httpx.Response) -> str:
    """The failure reason of a callback's redirect, "" for a success."""
    assert outcome(answer) in ("success", "error")
    return query_of(answer.headers["location"]).get("reason", "")


def decrypt(row: tuple[Any, ...], project: uuid.UUID, kind: str) -> dict[str, Any]:
    row_id, tenant_id, _, _, key_id, nonce, ciphertext = row
    aad = row_aad(tenant_id=tenant_id, project_id=project, integration_type=kind, row_id=row_id)
    return configured_keyring().open(Sealed(key_id, bytes(nonce), bytes(ciphertext)), aad=aad)


@pytest.mark.parametrize("n", [2, 20, 50])
async def test_identical_callbacks_install_exactly_once(client, db, n: int) -> None:
    """N copies of one callback (same state, code and binding cookie): one install, one exchange."""
    kind, project = "slack", project_id(ACME, "Onboarding")
    token = token_for(ACME, ALICE)
    exchanges = await sandbox_count(client, kind, "token_exchanges")
    for round_no in range(ROUNDS):
        callback = await approved_callback(client, kind, project, token)
        audited = installed_events(db, project, kind)
        answers = await race(*[partial(follow, client, callback)] * n)
        results = [outcome(answer) for answer in answers]
        assert results.count("success") == 1 and results.count("error") == n - 1, (round_no, results)
        now = await sandbox_count(client, kind, "token_exchanges")
        assert now == exchanges + 1, round_no
        exchanges = now
        stored = integrations(db, project, kind)
        assert len(stored) == 1 and stored[0][4] is not None, round_no
        assert installed_events(db, project, kind) == audited + 1, round_no


async def test_two_agents_racing_into_one_project_leave_one_whole_row(client, db) -> None:
    """Alice and Ada install Discord (two servers) into one empty project at once: the first saved wins
    whole, its meta and decrypted credentials from the same install; the other reached another server
    than the one now installed, so the wrong-account guard holds it for its agent to decide."""
    kind, project = "discord", project_id(ACME, "Billing Desk")
    first, second = DISCORD_GUILDS
    picks = {
        "Alice": {"guild_id": first.id, "channel_id": first.text_channels[1].id},
        "Ada": {"guild_id": second.id, "channel_id": second.text_channels[0].id},
    }
    tokens = {"Alice": token_for(ACME, ALICE), "Ada": token_for(ACME, ADA)}
    for round_no in range(ROUNDS):
        db.execute(
            "DELETE FROM project_integrations WHERE project_id = %s AND integration_type = %s",
            (project, kind),
        )
        exchanges = await sandbox_count(client, kind, "token_exchanges")
        audited = installed_events(db, project, kind)
        callbacks: list[Callback] = await asyncio.gather(
            *(approved_callback(client, kind, project, tokens[who], **picks[who]) for who in picks)
        )
        answers = await race(*(partial(follow, client, callback) for callback in callbacks))
        assert sorted(reason_of(answer) for answer in answers) == ["", "wrong_account"], round_no
        assert await sandbox_count(client, kind, "token_exchanges") == exchanges + 2
        assert installed_events(db, project, kind) == audited + 1, round_no
        stored = integrations(db, project, kind)
        assert len(stored) == 1, round_no
        meta, installer = stored[0][2], stored[0][3]
        bundle = decrypt(stored[0], project, kind)  # the AAD names the surviving row
        assert installer in picks, round_no
        assert {meta["guild_id"], meta["channel_id"]} == set(picks[installer].values()), round_no
        webhook = f"/webhooks/{meta['webhook_id']}/{bundle['webhook_token']}"
        assert bundle["webhook_url"].endswith(webhook), round_no
    assert orphan_credentials(db) == 0


async def test_install_racing_uninstall_ends_consistent(client, db) -> None:
    """A callback and DELETE at the same moment, from an installed integration: no 5xx, and
    either a row with decryptable credentials or nothing; the API list agrees with the database."""
    kind, project = "slack", project_id(ACME, "Customer Support")
    token = token_for(ACME, ALICE)
    tenant = identity(ACME, ALICE).tenant_id
    base = f"/v1/tenants/{tenant}/projects/{project}/integrations"
    for round_no in range(ROUNDS):
        if not integrations(db, project, kind):
            setup = await follow(client, await approved_callback(client, kind, project, token))
            assert outcome(setup) == "success"
        callback = await approved_callback(client, kind, project, token)
        # Sweep who leads by a few ms (-8 .. +20), so both the provider calls and the database
        # writes of the two requests overlap in some rounds. No outcome depends on the timing.
        lead = STAGGER[round_no % len(STAGGER)]
        installed, removed = await race(
            after(max(0.0, -lead), partial(follow, client, callback)),
            after(max(0.0, lead), partial(client.delete, f"{base}/{kind}", headers=bearer(token))),
        )
        assert outcome(installed) == "success", round_no
        assert removed.status_code == 204, (round_no, removed.status_code, removed.text[:300])
        stored = integrations(db, project, kind)
        assert len(stored) <= 1 and orphan_credentials(db) == 0, round_no
        if stored:
            assert stored[0][4] is not None, f"round {round_no}: row without credentials"
            decrypt(stored[0], project, kind)
        listing = await client.get(base, headers=bearer(token))
        assert listing.status_code == 200
        status = {item["type"]: item["status"] for item in listing.json()["integrations"]}[kind]
        assert status == ("connected" if stored else "not_connected"), round_no
