"""`python -m tms_console.worker [QUEUE ...]`: every queue by default, a misspelt queue refused at start; the
installs queue is the one the settings name (each test server has its own, so its worker takes its jobs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tms_console import worker
from tms_console.jobs import create_app
from tms_console.persistence.job_queue import INSTALL_DETAILS_TASK
from tms_console.settings import get_settings


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A DATABASE_URL for building the app (nothing connects): unit runs have none."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_default_worker_takes_every_task_queue(configured: None) -> None:
    queues = {task.queue for task in create_app().tasks.values()} - {"builtin"}  # procrastinate's own
    assert queues <= set(worker.all_queues()) and "installs" in worker.all_queues()
    assert create_app().tasks[INSTALL_DETAILS_TASK].queue == "installs"


def test_the_installs_queue_is_the_one_the_settings_name(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTALLS_QUEUE", "installs-console")
    get_settings.cache_clear()
    assert "installs-console" in worker.all_queues() and "installs" not in worker.all_queues()
    assert create_app().tasks[INSTALL_DETAILS_TASK].queue == "installs-console"
    with pytest.raises(SystemExit, match="unknown queue\\(s\\): installs;"):
        worker.main(["installs"])


def test_an_unknown_queue_is_refused_before_anything_starts() -> None:
    with pytest.raises(SystemExit, match="unknown queue\\(s\\): instals"):
        worker.main(["instals"])
