"""Operator commands: `python -m tms_console.cli rotate-keys`.

rotate-keys re-encrypts every credential under the first key of TOKEN_ENCRYPTION_KEYS (see
services/rotation.py for why it is safe to kill and rerun). Exit codes: 0 done (or nothing to do),
1 could not finish (database unreachable, or rows rewritten under an old key while it ran: run it
again), 2 refused (configuration missing or malformed, or stored rows the keys cannot decrypt;
nothing changed). Progress goes to stdout, the reason for a refusal to stderr as one line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from pydantic import ValidationError

from tms_console.domain.errors import Unavailable
from tms_console.persistence.db import dispose_engine
from tms_console.security.keyring import Keyring, configured_keyring
from tms_console.services.rotation import RotationRefused, rotate
from tms_console.settings import get_settings, refusals

EXPECTED = "TOKEN_ENCRYPTION_KEYS=newkid:<base64 of 32 bytes>,oldkid:<base64 of 32 bytes> (new key first)"


def _keyring() -> Keyring:
    """The keys as the app reads them, refusing what the app would refuse (and the dev fallback key)."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        # Only the messages: str(exc) would echo the raw input, key material included.
        reasons = "; ".join(refusals(exc))
        raise RotationRefused(
            f"configuration refused: {reasons}; fix it and run again ({EXPECTED})"
        ) from None
    if not settings.database_url:
        raise RotationRefused("DATABASE_URL is not set; point it at the console's database")
    return configured_keyring()


async def _rotate(keyring: Keyring, batch_size: int) -> int:
    try:
        result = await rotate(keyring, batch_size=batch_size, report=lambda line: print(line, flush=True))
    finally:
        await dispose_engine()
    if result.remaining:
        print(
            f"{result.remaining} credentials were written under an old key while this ran "
            "(is every instance running with the new key list?); run rotate-keys again",
            file=sys.stderr,
        )
        return 1
    if result.rotated:
        print(f"done: {result.rotated} credentials re-encrypted under key {keyring.primary_id!r}")
    return 0


def rotate_keys(batch_size: int) -> int:
    try:
        return asyncio.run(_rotate(_keyring(), batch_size))
    except RotationRefused as exc:
        print(f"rotate-keys refused: {exc}", file=sys.stderr)
        return 2
    except Unavailable:
        print("rotate-keys failed: cannot reach the database (DATABASE_URL); run again", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tms_console.cli", description="TMS console operator commands"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    rotate_parser = commands.add_parser(
        "rotate-keys", help="re-encrypt every credential under the first key of TOKEN_ENCRYPTION_KEYS"
    )
    rotate_parser.add_argument(
        "--batch-size", type=int, default=100, help="rows per transaction (default 100)"
    )
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return rotate_keys(args.batch_size)


if __name__ == "__main__":
    sys.exit(main())
