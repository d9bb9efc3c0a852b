"""Fixtures of the delivery tests: a worker process per module, and a fresh tenant and project per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.utils.deliveries import running_worker
from tests.utils.events import Place, new_place


@pytest.fixture(scope="module")
def worker(live_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`python -m tms_console.worker` for the module's tests; its log. It must still run at the end."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with running_worker(log) as process:
        yield log
        assert process.poll() is None, log.read_text()[-3000:]


@pytest.fixture
def place(db: psycopg.Connection) -> Place:
    return new_place(db)
