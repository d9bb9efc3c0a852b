"""Service-level failures. Each carries a reason code; none carries provider text or secrets."""

from __future__ import annotations

from typing import Any

from tms_console.domain.reasons import Reason


class ServiceError(Exception):
    status_code = 400

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(detail or reason.value)
        self.reason = reason
        self.detail = detail or reason.value


class NotFound(ServiceError):
    """Missing, or belongs to another tenant: the two are indistinguishable on purpose."""

    status_code = 404


class Unavailable(ServiceError):
    """Redis or Postgres is down; nothing was written."""

    status_code = 503


class ProviderError(ServiceError):
    """The provider refused or failed; `reason` says how."""

    status_code = 502


class ProviderDown(ProviderError):
    """The provider answered 5xx; `http_status` says which (the delivery log shows it)."""

    def __init__(self, http_status: int) -> None:
        super().__init__(Reason.PROVIDER_UNAVAILABLE, f"provider answered {http_status}")
        self.http_status = http_status


class RateLimited(ProviderError):
    """A 429; `retry_after` is the provider's wait in seconds when it gave a readable one (header),
    `answer` the parsed body (Discord and Telegram put a more precise figure there)."""

    def __init__(self, retry_after: float | None, answer: Any = None) -> None:
        super().__init__(Reason.RATE_LIMITED, "provider rate limited the request")
        self.retry_after = retry_after
        self.answer = answer


class TooManyRequests(ServiceError):
    """A rate limit was hit; `retry_after` says when to come back (seconds)."""

    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(Reason.TOO_MANY_REQUESTS, "too many requests")
        self.retry_after = retry_after


class WrongAccount(ServiceError):
    """A reinstall reached another provider account than the one installed: nothing was saved, and the
    new installation waits under `replacement_id` for the agent to confirm or refuse the replacement."""

    status_code = 409

    def __init__(self, replacement_id: str, detail: str) -> None:
        super().__init__(Reason.WRONG_ACCOUNT, detail)
        self.replacement_id = replacement_id
