"""A plain outgoing webhook: the agent's HTTPS URL, the ticket events it wants, an optional payload
template. Deliveries are signed (HMAC-SHA256 over timestamp and body, security/signing.py) and sent
through the SSRF-guarded client (security/ssrf.py), which never follows redirects.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from tms_console.domain.errors import ServiceError
from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks, ProviderHttp
from tms_console.domain.messages import Outcome, RenderedMessage, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.sample_events import SAMPLE_EVENTS
from tms_console.domain.values import ConnectContext, Installation, Meta, Secrets
from tms_console.providers import http_outcome, templating
from tms_console.providers.hooks._send import excerpt
from tms_console.providers.ready_made import READY_MADE
from tms_console.providers.render.webhook import notice as render_webhook_notice
from tms_console.providers.render.webhook import render as render_webhook
from tms_console.security import signing, ssrf
from tms_console.settings import get_settings

TEST_EVENT = "ticket.created"
MAX_RESPONSE_BYTES = 64 * 1024
DELIVERY_TIMEOUT_SECONDS = 15.0  # per attempt, the whole exchange (DELIVERY.md, as Svix)


def _allowed_origin() -> str | None:
    """The dev stand-ins' origin in dev and test; None (no exception to the rules) in production."""
    return get_settings().dev_origin


def _sample() -> TicketEvent:
    return TicketEvent.from_dict(SAMPLE_EVENTS[TEST_EVENT])


class WebhookHooks(ProviderHooks):
    ready_made = READY_MADE
    renders_events = True
    sends_notices = True

    def render_event(self, event: TicketEvent, meta: Meta, *, template: str = "") -> RenderedMessage:
        return render_webhook(event, template)

    def render_notice(self, text: str) -> RenderedMessage:
        return render_webhook_notice(text)

    async def connect(self, api: ProviderHttp, fields: dict[str, Any], ctx: ConnectContext) -> Installation:
        try:
            url = await ssrf.check_destination(str(fields.get("url", "")), allowed_origin=_allowed_origin())
        except ssrf.DestinationError as exc:
            raise ServiceError(Reason.INVALID_INPUT, str(exc)) from None
        template = str(fields.get("template") or "")
        if template:
            try:
                await asyncio.to_thread(self.preview, template)
            except templating.TemplateError as exc:
                raise ServiceError(Reason.INVALID_INPUT, f"Payload template: {exc}") from None
        host = urlsplit(url).hostname or ""
        return Installation(
            meta={
                "account_name": host,
                "target_name": host,
                "target_id": host,
                "events": fields.get("events", []),
            },
            # The URL may itself carry a credential (Slack and Discord webhook URLs do): a secret.
            secrets={"url": url, "signing_secret": signing.new_signing_secret(), "template": template},
        )

    def reveal(self, bundle: Secrets) -> dict[str, str]:
        """Shown to the agent once, right after connecting; never again."""
        return {"signing_secret": str(bundle.get("signing_secret", ""))}

    async def send_message(
        self,
        api: ProviderHttp,
        bundle: Secrets,
        meta: Meta,
        message: RenderedMessage,
        *,
        thread_handle: str = "",
    ) -> SendResult:
        """POST the exact rendered bytes, signed with both signatures; `webhook-id` is the message id,
        so every retry of one delivery carries the same one and receivers can drop duplicates."""
        payload = message.body()
        headers = signing.delivery_headers(
            str(bundle["signing_secret"]),
            payload,
            message_id=message.message_id or secrets.token_hex(16),
            timestamp=int(time.time()),
        )
        headers["Content-Type"] = "application/json"
        try:
            return await _post(str(bundle["url"]), payload, headers)
        except ssrf.DestinationError:
            return SendResult(Outcome.REJECTED, reason="destination_refused")
        except Exception as exc:  # any timeout or transport failure: no answer, worth another try
            return http_outcome.network_failure(exc)

    def preview(self, template: str) -> str:
        """The template rendered from a sample event (what the live preview shows)."""
        return json.dumps(render_webhook(_sample(), template).payload, indent=2, ensure_ascii=False)

    def setup_note(self) -> str:
        return signing.VERIFY_RECIPE


async def _post(url: str, payload: bytes, headers: dict[str, str]) -> SendResult:
    """One bounded exchange; only the first KiB of the answer is read (kept for the delivery log)."""
    timeout = DELIVERY_TIMEOUT_SECONDS
    async with ssrf.webhook_client(allowed_origin=_allowed_origin(), timeout=timeout) as client:
        async with asyncio.timeout(timeout):
            async with client.stream("POST", url, content=payload, headers=headers) as response:
                head = b""
                async for chunk in response.aiter_bytes():
                    head += chunk
                    if len(head) >= http_outcome.MAX_DETAIL_BYTES:
                        break
    return http_outcome.judge_status(
        response.status_code,
        retry_after=response.headers.get("Retry-After"),
        detail=excerpt(head.decode("utf-8", "replace"), url_secrets(url)),
    )


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of a webhook URL that may be its secret (Zapier, Make and Slack put the token in the
    path; others in the query): the URL, its path, and each long segment or value, longest first. A
    receiver that echoes its URL (an error page) must not put them in the delivery log."""
    parts = urlsplit(url)
    pieces = [*parts.path.split("/"), *(v for pair in parts.query.split("&") for v in pair.split("=")[1:])]
    found = {url, parts.path, parts.query, *(piece for piece in pieces if len(piece) >= 6)}
    return tuple(sorted((p for p in found if len(p) >= 6), key=len, reverse=True))
