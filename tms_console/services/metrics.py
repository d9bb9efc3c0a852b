"""The console's Prometheus metrics: the one module that owns them (served by `GET /metrics` and the
worker's own metrics port).

Label values come from fixed vocabularies only (provider keys, reason codes, statuses), never ids or
user text: `provider()` and `code()` turn anything else into `other`. The queue's depth and oldest job
age are read from procrastinate's tables when scraped, so every process shows the whole queue.

With several processes behind one port (Granian workers), set prometheus_client's
`PROMETHEUS_MULTIPROC_DIR` to an empty directory per host: each process then writes its counters there
and a scrape of any of them adds them all up.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.errors import Unavailable
from tms_console.domain.ticket_events import REST_HOOK
from tms_console.persistence.job_queue import QueueLoad, queue_load
from tms_console.providers.registry import get_provider
from tms_console.services import lifecycle
from tms_console.services.unit_of_work import unit_of_work

CONTENT_TYPE = CONTENT_TYPE_LATEST
OTHER = "other"
_CODE = re.compile(r"[A-Za-z0-9_]{1,50}")
logger = logging.getLogger("tms_console.metrics")

INSTALLS = Counter(
    "tms_installs",
    "Installs and connects that ended, by provider and reason code (installed, access_denied, ...)",
    ["provider", "reason"],
)
CALLBACK_SECONDS = Histogram(
    "tms_oauth_callback_seconds",
    "Time the OAuth callback took, token exchange and saving included",
    ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DELIVERIES = Counter(
    "tms_deliveries",
    "Delivery attempts recorded, by provider and the new delivery status (delivered/retrying/failed/paused)",
    ["provider", "outcome"],
)
TRANSITIONS = Counter(
    "tms_integration_transitions",
    "Integration status changes, by provider, new status and reason code",
    ["provider", "to", "reason"],
)
REFRESH_FAILURES = Counter(
    "tms_token_refresh_failures",
    "Access token refreshes that failed, by provider and reason code",
    ["provider", "reason"],
)


def provider(key: str) -> str:
    """A provider key as a label: one the registry knows (or REST hooks), else `other`."""
    return key if key == REST_HOOK or get_provider(key) is not None else OTHER


def code(value: str) -> str:
    """A reason code or status as a label: a short code, else `other`."""
    return value if _CODE.fullmatch(value) else OTHER


def install_ended(integration_type: str, reason: str) -> None:
    INSTALLS.labels(provider(integration_type), code(reason)).inc()


def callback_took(integration_type: str, seconds: float) -> None:
    CALLBACK_SECONDS.labels(provider(integration_type)).observe(seconds)


def delivery_recorded(integration_type: str, outcome: str) -> None:
    DELIVERIES.labels(provider(integration_type), code(outcome)).inc()


def refresh_failed(integration_type: str, reason: str) -> None:
    REFRESH_FAILURES.labels(provider(integration_type), code(reason)).inc()


@lifecycle.on_transition
async def _count_transition(session: AsyncSession, change: lifecycle.StatusChange) -> None:
    """Every status change, counted once (in the transaction that makes it)."""
    TRANSITIONS.labels(provider(change.integration_type), code(change.to_status), code(change.reason)).inc()


class QueueCollector(Collector):
    """Job queue depth and oldest job age, as last read by `render` (read at each scrape)."""

    def __init__(self) -> None:
        self.loads: list[QueueLoad] = []

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "tms_queue_jobs", "Jobs waiting (todo) or running (doing)", labels=["queue", "status"]
        )
        age = GaugeMetricFamily(
            "tms_queue_oldest_job_age_seconds",
            "Seconds since the oldest waiting (todo) or running (doing) job was due",
            labels=["queue", "status"],
        )
        for load in self.loads:
            depth.add_metric([load.queue, load.status], load.jobs)
            age.add_metric([load.queue, load.status], load.oldest_seconds)
        yield depth
        yield age


_QUEUE = QueueCollector()
REGISTRY.register(_QUEUE)


def _registry() -> CollectorRegistry:
    """This process's registry, or, in multiprocess mode, every process's counters added up."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(_QUEUE)
    return registry


async def render() -> bytes:
    """The exposition text of every metric, with the job queue read now (left out while the database
    is down: the counters still answer)."""
    try:
        async with unit_of_work() as session:
            _QUEUE.loads = await queue_load(session)
    except Unavailable:
        logger.warning("metrics_queue_unread reason=database_unavailable")
        _QUEUE.loads = []
    return generate_latest(_registry())
