"""The worker's tasks. Task names and queues are the ones `persistence.job_queue` defers with."""

from __future__ import annotations

import logging

from tms_console.jobs.app import app
from tms_console.persistence.job_queue import DELIVER_TASK, DELIVERIES_QUEUE

logger = logging.getLogger("tms_console.jobs")


@app.task(name=DELIVER_TASK, queue=DELIVERIES_QUEUE)
async def deliver(delivery_id: str) -> None:
    """Deliver one stored delivery to its integration.

    Not built yet (the next step of issue 10): the task will load the delivery, render the event with
    the provider's renderer, post it, record the attempt and retry on the Standard Webhooks schedule.
    For now it only logs, so a queued job is taken and finished and the queue stays empty.
    """
    logger.info("deliver_not_implemented delivery_id=%s", delivery_id)
