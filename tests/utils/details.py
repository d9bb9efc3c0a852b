"""Waiting for an install's display-only details, which the worker fetches after the callback's redirect
(the `install_details` job, services/install.py `add_details`: e.g. the Discord channel's name and the
installing user's id). A worker must run: the `worker` fixture, or the one beside the `console`."""

from __future__ import annotations

import time
from typing import Any

import psycopg


def wait_for_meta(
    db: psycopg.Connection, kind: str, project: object, key: str, timeout: float = 15.0
) -> dict[str, Any]:
    """The install's meta once it holds `key` (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        found = db.execute(
            "SELECT meta FROM project_integrations WHERE project_id = %s AND integration_type = %s",
            (project, kind),
        ).fetchone()
        if found is not None and found[0].get(key):
            return dict(found[0])
        assert time.monotonic() < deadline, f"{kind} meta has no {key} after {timeout} s: {found}"
        time.sleep(0.05)
