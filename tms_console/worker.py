"""`python -m tms_console.worker`: run the job worker with the console's settings (same environment).

Several workers may run at once, on one host or many: procrastinate hands each job to one worker, and a
lock keeps one ticket's deliveries to one integration in order. SIGINT/SIGTERM stop it after the jobs
in hand finish.
"""

from __future__ import annotations

import asyncio
import logging

from tms_console.jobs import tasks  # noqa: F401 - registers the tasks
from tms_console.jobs.app import app, connector_for
from tms_console.logs import configure_logging
from tms_console.settings import load_settings

logger = logging.getLogger("tms_console.worker")
CONCURRENCY = 20


async def run() -> None:
    settings = load_settings()
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set")
    with app.replace_connector(connector_for(settings.database_url)):
        async with app.open_async():
            logger.info("worker_started concurrency=%d", CONCURRENCY)
            await app.run_worker_async(concurrency=CONCURRENCY)


def main() -> None:
    configure_logging()
    asyncio.run(run())


if __name__ == "__main__":
    main()
