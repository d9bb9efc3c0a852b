"""Jobs a worker left `doing` (their status could not be saved during a database outage) run again as soon
as that worker is unregistered: by procrastinate as the worker stops, or by the worker process on reconnect
when its previous worker could not unregister itself. Another worker's jobs in hand are left alone.
(The whole path with a real Postgres restart: tests/faults/test_postgres_restart.py.)"""

from __future__ import annotations

import asyncio
import logging
import uuid

import psycopg
import pytest
from procrastinate.jobs import Job

from tests.utils.live import run_in_thread
from tms_console import worker
from tms_console.jobs import create_app

QUEUE = "left-behind-test"  # read by no running worker


def fetched_by_two_workers() -> tuple[tuple[int, int], tuple[int, int]]:
    """Two jobs, each fetched (`doing`) by a worker of its own that then stopped beating: (worker, job) x2."""
    pairs: list[tuple[int, int]] = []

    async def main() -> None:
        app = create_app()
        async with app.open_async():
            for _ in range(2):
                job = Job(
                    id=None,
                    queue=QUEUE,
                    task_name="notify",
                    lock=None,
                    queueing_lock=None,
                    task_kwargs={"marker": uuid.uuid4().hex},
                )
                await app.job_manager.defer_job_async(job)
                worker_id = await app.job_manager.register_worker()
                fetched = await app.job_manager.fetch_job(queues=[QUEUE], worker_id=worker_id)
                assert fetched is not None and fetched.id is not None
                pairs.append((worker_id, fetched.id))

    run_in_thread(lambda: asyncio.run(main()))
    return pairs[0], pairs[1]


def requeue_left_behind(worker_id: int) -> int | None:
    results: list[int | None] = []
    run_in_thread(lambda: results.append(asyncio.run(worker._requeue_left_behind(worker_id))))
    return results[0]


def test_a_previous_workers_doing_jobs_are_requeued_on_reconnect(
    database_url: str, db: psycopg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    (gone, left), (alive, in_hand) = fetched_by_two_workers()
    try:
        status = (
            "SELECT id, status, worker_id, attempts FROM procrastinate_jobs WHERE id = ANY(%s) ORDER BY id"
        )
        assert db.execute(status, ([left, in_hand],)).fetchall() == [
            (left, "doing", gone, 0),
            (in_hand, "doing", alive, 0),
        ]
        with caplog.at_level(logging.WARNING, logger="tms_console.worker"):
            assert requeue_left_behind(gone) is None
        assert db.execute(status, ([left, in_hand],)).fetchall() == [
            (left, "todo", None, 1),  # runs again, now
            (in_hand, "doing", alive, 0),  # another worker's job in hand: untouched
        ]
        workers = "SELECT id FROM procrastinate_workers WHERE id = ANY(%s) ORDER BY id"
        assert db.execute(workers, ([gone, alive],)).fetchall() == [(alive,)]
        assert "left_behind_jobs_requeued count=1" in caplog.text
    finally:
        db.execute("DELETE FROM procrastinate_jobs WHERE queue_name = %s", (QUEUE,))
        db.execute("DELETE FROM procrastinate_workers WHERE id = ANY(%s)", ([gone, alive],))
