"""Operator commands: `python -m tms_console.cli rotate-keys` and, in development and test only,
`python -m tms_console.cli emit-event --project <id> [--type ticket.created]`.

emit-event accepts a simulated ticket event for the project (services/simulate.py) exactly as the intake
accepts the TMS's, and prints the answer as JSON (`{"event_id": ..., "deliveries": N}`); a running worker
then delivers it. Exit codes: 0 accepted, 1 database unreachable, 2 refused (production, an unknown
project or type, a configuration the app refuses), with one line on stderr.

rotate-keys re-encrypts every credential under the first key of TOKEN_ENCRYPTION_KEYS (see
services/rotation.py for why it is safe to kill and rerun). Exit codes: 0 done (or nothing to do),
1 could not finish (database unreachable, or rows rewritten under an old key while it ran: run it
again), 2 refused (configuration missing or malformed, or stored rows the keys cannot decrypt;
nothing changed). Progress goes to stdout, the reason for a refusal to stderr as one line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from pydantic import ValidationError

from tms_console.domain.errors import NotFound, ServiceError, Unavailable
from tms_console.domain.events import EVENT_TYPES
from tms_console.persistence.db import dispose_engine
from tms_console.security.keyring import Keyring, configured_keyring
from tms_console.services import simulate
from tms_console.services.intake import Accepted
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


async def _emit(project_id: str, event_type: str) -> Accepted:
    try:
        return await simulate.emit_event(project_id=project_id, event_type=event_type)
    finally:
        await dispose_engine()


def emit_event(project_id: str, event_type: str) -> int:
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"emit-event refused: configuration refused: {'; '.join(refusals(exc))}", file=sys.stderr)
        return 2
    if not simulate.available():
        print(
            "emit-event refused: simulated events are for development and test only (TMS_ENV=prod)",
            file=sys.stderr,
        )
        return 2
    if not settings.database_url:
        print(
            "emit-event refused: DATABASE_URL is not set; point it at the console's database", file=sys.stderr
        )
        return 2
    try:
        accepted = asyncio.run(_emit(project_id, event_type))
    except Unavailable:
        print("emit-event failed: cannot reach the database (DATABASE_URL); run again", file=sys.stderr)
        return 1
    except NotFound:
        print(f"emit-event refused: no project with id {project_id[:64]!r}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"emit-event refused: {exc.detail}", file=sys.stderr)
        return 2
    print(json.dumps({"event_id": accepted.event_id, "deliveries": accepted.deliveries}))
    return 0


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
    emit_parser = commands.add_parser(
        "emit-event", help="dev and test only: accept a simulated ticket event for a project"
    )
    emit_parser.add_argument("--project", required=True, help="the project's id")
    emit_parser.add_argument(
        "--type",
        default="ticket.created",
        choices=EVENT_TYPES,
        help="the event type (default ticket.created)",
    )
    args = parser.parse_args(argv)
    if args.command == "emit-event":
        return emit_event(args.project, args.type)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return rotate_keys(args.batch_size)


if __name__ == "__main__":
    sys.exit(main())
