"""Who may read the metrics: the holder of `METRICS_TOKEN`, compared in constant time; nobody when unset."""

from __future__ import annotations

import hmac
from enum import StrEnum

from tms_console.settings import get_settings


class MetricsAccess(StrEnum):
    OFF = "off"  # METRICS_TOKEN unset: there are no metrics to see (404)
    DENIED = "denied"  # no token, or the wrong one (401)
    GRANTED = "granted"


def metrics_access(authorization: str | None) -> MetricsAccess:
    """The answer to an `Authorization` header (`Bearer <token>`) asking for the metrics."""
    token = get_settings().metrics_token
    if token is None:
        return MetricsAccess.OFF
    scheme, _, given = (authorization or "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected):
        return MetricsAccess.GRANTED
    return MetricsAccess.DENIED
