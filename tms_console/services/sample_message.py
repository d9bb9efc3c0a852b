"""Test messages ("Send test"): a sample ticket event, clearly marked as a test, sent through the same
renderer and `send_message` a delivery uses, and its result in plain words.

Nothing here is provider-specific: every provider that renders ticket events gets a test message. A test
changes nothing (no delivery row, no thread handle kept, no status change): a refusal is reported to
the agent, and the deliveries themselves mark the integration when it really stops working.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime

from tms_console.domain.errors import ProviderError, ServiceError
from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks
from tms_console.domain.messages import Outcome, RenderedMessage, SendResult
from tms_console.domain.reasons import Reason, describe
from tms_console.domain.sample_events import SAMPLE_EVENTS
from tms_console.domain.status import IntegrationStatus
from tms_console.providers.templating import TemplateError

TEST_EVENT_TYPE = "ticket.created"
TEST_SUBJECT = "[Test] Sent from the TMS Integrations Console: new tickets will look like this"
TEST_ACTOR = {"id": "tms-console", "name": "TMS Integrations Console (test message)"}


class SendTestFailed(ProviderError):
    """The provider did not take the test message; `detail` says why in plain words."""


def marked_event() -> TicketEvent:
    """The sample new-ticket event as a test: its own ids (a ticket of its own, so a thread of its own),
    the subject and actor saying it is a test, and the time it is sent."""
    marker = secrets.token_hex(6)
    sample = SAMPLE_EVENTS[TEST_EVENT_TYPE]
    ticket = sample["ticket"] | {"id": f"console-test-{marker}", "subject": TEST_SUBJECT}
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    body = sample | {"id": f"test_{marker}", "ticket": ticket, "actor": TEST_ACTOR, "occurred_at": now}
    return TicketEvent.from_dict(body)


def check_ready(status: str, *, needs_target: bool, provider: str) -> None:
    """Refuse a test the integration cannot take yet (nothing is sent); the detail is a sentence.

    Raises:
        ServiceError: no target chosen yet (NEEDS_TARGET), credentials refused (NEEDS_RECONNECT), or
            an endpoint that asked to be removed (ENDPOINT_GONE).
    """
    reason = None
    if status == IntegrationStatus.NEEDS_RECONNECT.value:
        reason = Reason.NEEDS_RECONNECT
    elif status == IntegrationStatus.DISABLED.value:
        reason = Reason.ENDPOINT_GONE
    elif needs_target:
        reason = Reason.NEEDS_TARGET
    if reason is not None:
        raise ServiceError(reason, describe(reason, provider))


def render(hooks: ProviderHooks, meta: dict[str, object], bundle: dict[str, object]) -> RenderedMessage:
    """The test event as the platform's message, exactly as a delivery renders it.

    Raises:
        ServiceError: the integration's own payload template does not render (INVALID_INPUT).
    """
    try:
        message = hooks.render_event(marked_event(), meta, template=str(bundle.get("template") or ""))
    except TemplateError as exc:
        raise ServiceError(Reason.INVALID_INPUT, f"Payload template: {exc}") from None
    return replace(message, message_id="test_" + secrets.token_hex(8))


def judge(result: SendResult, provider: str, target: str = "channel") -> str:
    """A delivered test as one sentence for the agent.

    Raises:
        SendTestFailed: anything else, with the sentence saying what happened and what to do.
    """
    status = f"HTTP {result.http_status}" if result.http_status else ""
    if result.outcome is Outcome.DELIVERED:
        return f"Delivered: {provider} accepted it" + (f" ({status})." if status else ".")
    reason, words = _failure(result, provider, target, status)
    raise SendTestFailed(reason, words)


def _failure(result: SendResult, provider: str, target: str, status: str) -> tuple[Reason, str]:
    code = ", ".join(part for part in (status, result.reason) if part)
    said = f" ({code})" if code else ""
    if result.outcome is Outcome.GONE:
        return Reason.ENDPOINT_GONE, f"The endpoint answered 410 Gone: it asks to receive nothing more{said}."
    if result.outcome is Outcome.AUTH_FAILED:
        if result.reason == Reason.MISSING_CHANNEL.value:
            return Reason.NEEDS_TARGET, f"{provider} has no {target} to post to yet. Choose one on the card."
        return Reason.NEEDS_RECONNECT, (
            f"{provider} refused the stored credentials, or the {target} is gone{said}. Reconnect it."
        )
    if result.outcome is Outcome.REJECTED:
        if result.reason == "destination_refused":
            return Reason.TEST_FAILED, "The endpoint's address is not allowed (a private or local network)."
        return Reason.TEST_FAILED, f"{provider} refused the message{said}."
    return _retry_words(result, provider, said)


def _retry_words(result: SendResult, provider: str, said: str) -> tuple[Reason, str]:
    if result.http_status == 429:
        wait = f"wait {round(result.retry_after)} seconds and " if result.retry_after else ""
        words = f"{provider} is limiting how fast the console may post{said}; {wait}try again."
        return Reason.RATE_LIMITED, words
    if result.http_status and result.http_status >= 500:
        return Reason.PROVIDER_UNAVAILABLE, (
            f"{provider} answered with an error on its side{said}. Try again in a few minutes."
        )
    if result.http_status:
        return Reason.PROVIDER_UNAVAILABLE, f"{provider} sent an answer the console could not read{said}."
    return Reason.PROVIDER_UNAVAILABLE, f"{provider} could not be reached{said}. Try again in a few minutes."
