"""Fixtures of the delivery tests: a fresh tenant and project per test (the worker: tests/conftest.py)."""

from __future__ import annotations

import psycopg
import pytest

from tests.utils.events import Place, new_place


@pytest.fixture
def place(db: psycopg.Connection) -> Place:
    return new_place(db)
