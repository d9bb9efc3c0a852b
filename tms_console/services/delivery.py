"""Delivering one ticket event to one integration: one attempt, its log row, and what comes next.

`deliver` is what the `deliver` job runs. It reads everything in one query, sends with no transaction
open, then records the attempt and its consequence (a retry job, a status, a thread handle) atomically,
so the next attempt exists exactly when this attempt's row does. It is idempotent: a delivery that is no
longer pending is left alone, so a job run again after its worker died sends at most once more, with the
same message id (the webhook's `webhook-id`). No row lock is held while reading: recording is
conditional on the delivery still waiting for this attempt. Only a delivery that ends without an attempt
(paused, failed) is read again under its row lock, as the general path.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, replace

from tms_console.domain.errors import ServiceError
from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks, ProviderHttp
from tms_console.domain.messages import Outcome, RenderedMessage, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.domain.ticket_events import REST_HOOK, DeliveryStatus
from tms_console.oauth.http import api_for
from tms_console.persistence import deliveries
from tms_console.persistence.deliveries import DeliveryRecord
from tms_console.persistence.models import IntegrationCredential, ProjectIntegration, utcnow
from tms_console.providers.config import resolve
from tms_console.providers.registry import WEBHOOK, get_provider, hooks_for
from tms_console.providers.templating import TemplateError
from tms_console.security.keyring import DecryptError
from tms_console.services import credentials, rest_hooks, tokens
from tms_console.services.delivery_outcome import Attempt, is_due, keep_health, settle
from tms_console.services.unit_of_work import unit_of_work

logger = logging.getLogger("tms_console.delivery")


@dataclass(frozen=True)
class Plan:
    """Everything one attempt needs, read before sending (no transaction stays open while sending)."""

    record: DeliveryRecord
    number: int
    hooks: ProviderHooks
    api: ProviderHttp
    integration_type: str
    bundle: dict[str, object]
    meta: dict[str, object]
    message: RenderedMessage
    thread_handle: str
    # The row and its credentials when the access token must be refreshed before sending (Teams and
    # Google tokens last an hour); done outside the read transaction, single-flight under the row lock.
    refresh: tuple[ProjectIntegration, IntegrationCredential] | None = None


class Stop(Exception):
    """The delivery ends without an attempt: its status and the reason."""

    def __init__(self, status: DeliveryStatus, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def deliver(delivery_id: str, attempt: int = 1) -> Outcome | None:
    """Make attempt number `attempt` of a delivery and record it; its outcome, or None when none was made.

    A job names the attempt it is for, so a job run again after its worker died once the attempt was
    recorded (and its successor queued) does nothing: retries never fork into two chains.
    """
    plan = await _prepare(uuid.UUID(delivery_id), attempt)
    if plan is None:
        return None
    started, clock = utcnow(), time.monotonic()
    result = await _send(plan)
    outcome = Attempt(result, started, int((time.monotonic() - clock) * 1000))
    await settle(plan.record, plan.number, outcome)
    logger.info(
        "delivery_attempt type=%s outcome=%s status=%s reason=%s",
        plan.integration_type,
        result.outcome.value,
        result.http_status,
        result.reason,
    )
    return result.outcome


async def _prepare(delivery_id: uuid.UUID, number: int) -> Plan | None:
    """The plan of attempt `number`, or None: nothing to do (settled, or that attempt was made), or it
    ended here."""
    async with unit_of_work(autocommit=True) as session:
        record = await deliveries.load(session, delivery_id)
    if record is None or not is_due(record, number):
        return None  # gone, settled, or a job run again after a crash: nothing to do
    try:
        return _plan(record, number)
    except Stop:
        return await _prepare_locked(delivery_id, number)


async def _prepare_locked(delivery_id: uuid.UUID, number: int) -> Plan | None:
    """`_prepare` under the delivery's row lock, which a delivery ending without an attempt needs: it is
    decided again on what is current, and its status and the integration's health are written."""
    async with unit_of_work() as session:
        record = await deliveries.load(session, delivery_id, lock=True)
        if record is None or not is_due(record, number):
            return None
        try:
            return _plan(record, number)
        except Stop as stop:
            now = utcnow()
            record.delivery.status, record.delivery.last_reason = stop.status.value, stop.reason
            record.delivery.updated_at = now
            await keep_health(session, record, status=stop.status, reason=stop.reason, at=now)
            logger.info("delivery_stopped status=%s reason=%s", stop.status.value, stop.reason)
            return None


def _plan(record: DeliveryRecord, number: int) -> Plan:
    """Check the integration can receive, open its secrets, render the event; raise Stop otherwise."""
    if record.delivery.integration_type == REST_HOOK:
        return _hook_plan(record, number)
    row = record.integration
    if row is None:
        raise Stop(DeliveryStatus.FAILED, "uninstalled")
    if row.status == IntegrationStatus.NEEDS_RECONNECT.value:
        raise Stop(DeliveryStatus.PAUSED, row.status_reason or Reason.NEEDS_RECONNECT.value)
    if row.status == IntegrationStatus.DISABLED.value:
        raise Stop(DeliveryStatus.FAILED, "disabled")
    spec = get_provider(row.integration_type)
    hooks = hooks_for(spec) if spec else None
    if spec is None or hooks is None or not hooks.renders_events:
        raise Stop(DeliveryStatus.FAILED, "not_supported")
    bundle = _open(record)
    message = _render(hooks, record, bundle)
    meta = dict(row.meta or {})
    api = api_for(resolve(spec))
    due = record.credential is not None and spec.refresh and tokens.refresh_due(record.credential)
    refresh = (row, record.credential) if due and record.credential is not None else None
    return Plan(
        record,
        number,
        hooks,
        api,
        row.integration_type,
        bundle,
        meta,
        message,
        record.thread_handle,
        refresh,
    )


def _hook_plan(record: DeliveryRecord, number: int) -> Plan:
    """A REST hook subscription (Zapier, Make) is sent as a webhook with the default JSON body: signed
    both ways with the hook's secret, through the SSRF guard, no redirects followed, no threads."""
    if record.hook is None:
        raise Stop(DeliveryStatus.FAILED, "unsubscribed")
    try:
        bundle = rest_hooks.open_target(record.hook)
    except DecryptError:
        raise Stop(DeliveryStatus.FAILED, "credentials_unreadable") from None
    hooks = hooks_for(WEBHOOK)
    message = _render(hooks, record, {})
    return Plan(record, number, hooks, api_for(resolve(WEBHOOK)), REST_HOOK, bundle, {}, message, "")


def _open(record: DeliveryRecord) -> dict[str, object]:
    if record.integration is None or record.credential is None:
        raise Stop(DeliveryStatus.FAILED, "credentials_missing")
    try:
        return credentials.open_bundle(record.integration, record.credential)
    except DecryptError:
        raise Stop(DeliveryStatus.FAILED, "credentials_unreadable") from None


def _render(hooks: ProviderHooks, record: DeliveryRecord, bundle: dict[str, object]) -> RenderedMessage:
    """The event as the platform's message, carrying the delivery's id (stable across retries)."""
    meta = dict(record.integration.meta or {}) if record.integration else {}
    try:
        event = TicketEvent.from_dict(record.event.payload)
        message = hooks.render_event(event, meta, template=str(bundle.get("template") or ""))
    except (TemplateError, ServiceError, ValueError, KeyError):
        raise Stop(DeliveryStatus.FAILED, "render_failed") from None
    return replace(message, message_id=str(record.delivery.id))


async def _send(plan: Plan) -> SendResult:
    """One send; a hook that raises anyway is a failed attempt worth retrying, never a crashed job."""
    bundle = plan.bundle
    if plan.refresh is not None:
        try:
            bundle = await tokens.fresh_bundle(*plan.refresh)
        except ServiceError as exc:  # refused for good: reconnect; anything else: try again later
            if exc.reason is Reason.NEEDS_RECONNECT:
                return SendResult(Outcome.AUTH_FAILED, reason="refresh_refused")
            return SendResult(Outcome.RETRY, reason=exc.reason.value)
    try:
        return await plan.hooks.send_message(
            plan.api, bundle, plan.meta, plan.message, thread_handle=plan.thread_handle
        )
    except Exception as exc:  # the contract says hooks never raise; a bug must not lose the delivery
        logger.warning("delivery_hook_raised type=%s error=%s", plan.integration_type, type(exc).__name__)
        return SendResult(Outcome.RETRY, reason="send_error", detail=type(exc).__name__)
