"""Re-encrypt every stored credential under the newest (first) key of TOKEN_ENCRYPTION_KEYS.

Safe to interrupt at any moment (even kill -9) and to rerun:
- every row is first checked to decrypt with the configured keys; if any does not, nothing is
  changed, so a missing or changed key can never strand a credential;
- rows are rewritten in small batches, each in its own short transaction, and each UPDATE is
  guarded on the old kid, nonce and ciphertext, so a row is either fully old or fully new and a
  concurrent install (or a second run) is never overwritten with stale secrets;
- a rerun picks up whatever is still under an old key, so repeated runs converge.
Messages name kids and row counts only, never key material or plaintext.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from tms_console.persistence import key_rotation
from tms_console.persistence.key_rotation import StoredCredential
from tms_console.security.keyring import DecryptError, Keyring, row_aad
from tms_console.services.unit_of_work import unit_of_work

Report = Callable[[str], None]


class RotationRefused(Exception):
    """The rotation must not start (or continue); the message is one line, without secrets."""


@dataclass(frozen=True)
class RotationResult:
    rotated: int
    # Rows still under an old key at the end: rewritten under an old key while this ran.
    remaining: int


def _aad(credential: StoredCredential) -> bytes:
    return row_aad(
        tenant_id=credential.tenant_id,
        project_id=credential.project_id,
        integration_type=credential.integration_type,
        row_id=credential.integration_id,
    )


async def _pages(batch_size: int, not_key_id: str | None = None) -> AsyncIterator[list[StoredCredential]]:
    """Read-only paging over every credential, one short transaction per page."""
    after: uuid.UUID | None = None
    while True:
        async with unit_of_work() as session:
            page = await key_rotation.credentials_page(
                session, after=after, limit=batch_size, not_key_id=not_key_id
            )
        if not page:
            return
        yield page
        after = page[-1].integration_id


async def check_all(keyring: Keyring, *, batch_size: int) -> Counter[str]:
    """Decrypt every row; return row counts per kid, or refuse naming the kids that fail."""
    per_kid: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    failing: Counter[str] = Counter()
    async for page in _pages(batch_size):
        for credential in page:
            kid = credential.sealed.key_id
            per_kid[kid] += 1
            if kid not in keyring.key_ids:
                unknown[kid] += 1
                continue
            try:
                keyring.open(credential.sealed, aad=_aad(credential))
            except (DecryptError, ValueError):
                failing[kid] += 1
    problems = [
        f"kid {kid!r}: {n} rows, kid not in TOKEN_ENCRYPTION_KEYS" for kid, n in sorted(unknown.items())
    ]
    problems += [
        f"kid {kid!r}: {n} rows do not decrypt (key material changed, or rows corrupted)"
        for kid, n in sorted(failing.items())
    ]
    if problems:
        raise RotationRefused(
            f"{sum(unknown.values()) + sum(failing.values())} credential rows cannot be decrypted with "
            f"the configured keys ({'; '.join(problems)}); put the original keys back into "
            "TOKEN_ENCRYPTION_KEYS (new key first) and run again. Nothing was changed."
        )
    return per_kid


async def rotate(keyring: Keyring, *, batch_size: int, report: Report) -> RotationResult:
    """Check every row, then move the rows under old kids to the first key, batch by batch."""
    primary = keyring.primary_id
    per_kid = await check_all(keyring, batch_size=batch_size)
    total = sum(per_kid.values())
    todo = total - per_kid[primary]
    if todo == 0:
        report(f"nothing to do: all {total} credentials are under key {primary!r}")
        return RotationResult(rotated=0, remaining=0)
    old = ", ".join(f"{kid!r}: {n}" for kid, n in sorted(per_kid.items()) if kid != primary)
    report(f"checked {total} credentials, all decrypt; {todo} under old keys ({old})")
    rotated = 0
    while True:  # A second pass only finds rows rewritten under an old key while the first ran.
        rotated_in_pass = 0
        async for page in _pages(batch_size, not_key_id=primary):
            rotated_in_pass += await _rotate_page(keyring, page)
            report(f"re-encrypted {rotated + rotated_in_pass}/{todo}")
        rotated += rotated_in_pass
        if rotated_in_pass == 0:
            break
    remaining = 0
    async for page in _pages(batch_size, not_key_id=primary):
        remaining += len(page)
    return RotationResult(rotated=rotated, remaining=remaining)


async def _rotate_page(keyring: Keyring, page: list[StoredCredential]) -> int:
    """Re-encrypt one page in one short transaction; rows changed since they were read are left."""
    rotated = 0
    async with unit_of_work() as session:
        for credential in page:
            try:
                new = keyring.reseal(credential.sealed, aad=_aad(credential))
            except (DecryptError, ValueError):
                raise RotationRefused(
                    f"a credential row under kid {credential.sealed.key_id!r} stopped decrypting during "
                    "the run (written by an instance with other keys?); fix TOKEN_ENCRYPTION_KEYS and "
                    "run again. Rows already re-encrypted decrypt with the new key."
                ) from None
            if await key_rotation.replace_sealed(
                session, integration_id=credential.integration_id, old=credential.sealed, new=new
            ):
                rotated += 1
    return rotated
