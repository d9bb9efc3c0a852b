"""What every provider's `send_message` shares: one call that never raises, and safe result details.

`call_raw` answers statuses below 500 and raises for the rest (429 with its wait, 5xx, timeouts,
connection errors, unreadable bodies): those all mean "try again later", so they become RETRY here
and each provider judges only the answers it understands.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from tms_console.domain.errors import ProviderDown, ProviderError, RateLimited
from tms_console.domain.hooks import ProviderHttp
from tms_console.domain.messages import Outcome, SendResult
from tms_console.domain.reasons import Reason
from tms_console.providers.http_outcome import truncate


@dataclass(frozen=True)
class Answer:
    """A provider's answer below 500: the status and the parsed body."""

    status: int
    body: Any


async def attempt(
    api: ProviderHttp, method: str, path: str, *, secrets: tuple[str, ...] = (), **options: Any
) -> Answer | SendResult:
    """One call; transport trouble, 429 and 5xx come back as a RETRY result.

    Args:
        api: the provider's API hosts.
        method: the HTTP method.
        path: the path under the API base (or Graph base with `graph=True`).
        secrets: values that must never appear in the result's detail (tokens in paths).
        **options: as for `ProviderHttp.call_raw`.
    """
    try:
        status, body = await api.call_raw(method, path, **options)
    except RateLimited as exc:
        wait = body_wait(exc.answer)
        wait = exc.retry_after if wait is None else wait
        return SendResult(
            Outcome.RETRY, 429, Reason.RATE_LIMITED.value, wait, detail=excerpt(exc.answer, secrets)
        )
    except ProviderDown as exc:
        return SendResult(Outcome.RETRY, exc.http_status, exc.reason.value, detail=exc.detail)
    except ProviderError as exc:  # timeouts, connection errors, bodies too large or malformed
        return SendResult(Outcome.RETRY, None, exc.reason.value, detail=excerpt(exc.detail, secrets))
    return Answer(status, body)


def body_wait(body: Any) -> float | None:
    """The wait a 429 body names: Discord's `retry_after`, Telegram's `parameters.retry_after`."""
    if not isinstance(body, dict):
        return None
    params = body.get("parameters")
    value = params.get("retry_after") if isinstance(params, dict) else body.get("retry_after")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0 <= value <= 86_400 else None


def excerpt(body: Any, secrets: tuple[str, ...] = ()) -> str:
    """At most 1 KiB of an answer for the delivery log, with every secret of the call masked."""
    if body is None:
        return ""
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return truncate(text)


def result(outcome: Outcome, answer: Answer, reason: str, *, secrets: tuple[str, ...] = ()) -> SendResult:
    """A judged answer as a result, with the body's excerpt."""
    return SendResult(outcome, answer.status, reason, detail=excerpt(answer.body, secrets))


def delivered(answer: Answer, handle: str = "") -> SendResult:
    """A message the platform took; `handle` opens the ticket's thread when it was the first."""
    return SendResult(Outcome.DELIVERED, answer.status, thread_handle=handle)


def by_status(answer: Answer, auth: frozenset[int], *, secrets: tuple[str, ...] = ()) -> SendResult:
    """The common judgement of a non-2xx answer: `auth` statuses need a reconnect, other 4xx are final."""
    if answer.status in auth:
        return result(Outcome.AUTH_FAILED, answer, f"http_{answer.status}", secrets=secrets)
    return result(Outcome.REJECTED, answer, f"http_{answer.status}", secrets=secrets)


def probed(answer: Answer, refusals: dict[int, str], *, secrets: tuple[str, ...] = ()) -> SendResult:
    """A health probe's answer: a 2xx object works; statuses in `refusals` need a reconnect (with that
    reason); anything else failed for now."""
    if answer.status < 300 and isinstance(answer.body, dict):
        return delivered(answer)
    if answer.status in refusals:
        return result(Outcome.AUTH_FAILED, answer, refusals[answer.status], secrets=secrets)
    if answer.status < 300:  # not the provider's answer (an HTML page): maybe a proxy hiccup
        return result(Outcome.RETRY, answer, Reason.BAD_RESPONSE.value, secrets=secrets)
    return result(Outcome.REJECTED, answer, f"http_{answer.status}", secrets=secrets)


def missing_target(what: str) -> SendResult:
    """No target picked at install (or it was removed): nothing can be sent until one is chosen."""
    return SendResult(Outcome.AUTH_FAILED, None, Reason.MISSING_CHANNEL.value, detail=f"no {what} chosen")
