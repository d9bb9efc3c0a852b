"""The intake's limits and the lifecycle words of deliveries (the event types are in `events.py`)."""

from __future__ import annotations

from enum import StrEnum

MAX_EVENT_BYTES = 64 * 1024
# A delivery to a REST hook subscription (Zapier, Make) names the hook's id as its `integration_id`
# and this as its `integration_type`; no provider is called that.
REST_HOOK = "rest_hook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # stored, its job is queued or running
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up: retries exhausted or the provider refused for good
    PAUSED = "paused"  # the integration needs a reconnect; resumes afterwards
