"""WhatsApp Business (Meta Cloud API, Embedded Signup; PROVIDERS.md §6).

The signup popup hands the console page a code plus the WABA and phone number picked; the backend
exchanges the code (query string, no redirect_uri for SDK codes), checks the business token with
`debug_token` against our app, subscribes the app to the WABA and reads the phone number's names.
Meta's webhooks (`X-Hub-Signature-256`, keyed with the app secret) tell us when the business removes
our app from its WhatsApp account (`account_update`, `PARTNER_REMOVED`).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any

from tms_console.domain.errors import ProviderError, ServiceError
from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks, ProviderHttp
from tms_console.domain.inbound import InboundRefused, Reply, StatusEvent, Verified
from tms_console.domain.messages import Outcome, RenderedMessage, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.domain.values import ConnectContext, Installation, Meta, Secrets, Target
from tms_console.providers.hooks._inbound import json_object, obj, require_fresh, text
from tms_console.providers.hooks._send import Answer, attempt, delivered, missing_target, result
from tms_console.providers.render.whatsapp import render as render_whatsapp
from tms_console.security.provider_signatures import body_id, matches_hmac

GRAPH_ID = re.compile(r"^[0-9]{1,30}$")
MESSAGING = "whatsapp_business_messaging"
RECIPIENT = re.compile(r"^\+?[0-9]{6,15}$")
# E.164: "+", a country code that does not start with 0, at most 15 digits in all (7 at least in practice).
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_PHONE_PUNCTUATION = str.maketrans("", "", " -.()\u00a0")
# Cloud API error codes on a send (PROVIDERS.md §6.8): the token or its permission is gone; throttled.
_SEND_AUTH = frozenset({0, 10, 190, 200})
_SEND_THROTTLED = frozenset({4, 80007, 130429, 131048, 131056})
# A probe of the phone number: the token is dead (190), lost its permission (10, 200), or no longer
# reaches the number (100: "does not exist, cannot be loaded due to missing permissions").
_PROBE_REFUSALS = {190: "access_revoked", 10: "no_access", 200: "no_access", 100: "phone_number_not_found"}

# Graph error codes (PROVIDERS.md §6.8) -> our reasons.
_GRAPH_ERRORS = {
    1: Reason.INVALID_CLIENT,
    101: Reason.INVALID_CLIENT,
    190: Reason.INVALID_GRANT,
    4: Reason.RATE_LIMITED,
    80007: Reason.RATE_LIMITED,
}


def _graph_error(body: Any, call: str) -> ProviderError:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    subcode = error.get("error_subcode") if isinstance(error, dict) else None
    if code == 100 and subcode in (36007, 36009):  # unknown or already used code
        return ProviderError(Reason.INVALID_GRANT, f"{call}: code refused")
    return ProviderError(_GRAPH_ERRORS.get(code, Reason.PROVIDER_ERROR), f"{call}: graph error {code}")  # type: ignore[arg-type]


async def _graph(api: ProviderHttp, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    status, body = await api.call_raw(method, path, **kwargs)
    if status >= 400 or not isinstance(body, dict) or "error" in body:
        raise _graph_error(body, path.split("?")[0])
    return body


def judge_send_error(answer: Answer) -> SendResult:
    """Meta's Graph error envelope: key on `code` (throttling comes back as 400 with code 80007)."""
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    reason = f"graph_{code}" if isinstance(code, int) else f"http_{answer.status}"
    if answer.status == 401 or code in _SEND_AUTH:
        return result(Outcome.AUTH_FAILED, answer, reason)
    if code in _SEND_THROTTLED:
        return result(Outcome.RETRY, answer, reason)
    if answer.status < 300:
        return result(Outcome.RETRY, answer, Reason.BAD_RESPONSE.value)
    return result(Outcome.REJECTED, answer, reason)  # 132xxx template errors, 131xxx, 100: as sent, never


def recipient_target(value: str) -> Target:
    """The recipient's number as a target, in E.164 (spaces, dashes, dots and brackets are dropped).

    Raises:
        ServiceError: not an international number with its country code.
    """
    number = value.translate(_PHONE_PUNCTUATION) if isinstance(value, str) else ""
    if not E164.match(number):
        raise ServiceError(
            Reason.INVALID_INPUT,
            "Recipient: an international phone number with its country code, e.g. +15551234567",
        )
    return Target(number, number, extra={"recipient": number})


_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# account_update events (Meta's webhook reference) and what they do to the installs of that WABA.
_ACCOUNT_EVENTS = {"PARTNER_REMOVED": (IntegrationStatus.NEEDS_RECONNECT, "uninstalled_by_provider")}


class WhatsAppHooks(ProviderHooks):
    revokes = True
    renders_events = True
    enters_target = True
    receives_events = True
    probes = True

    def entered_target(self, value: str) -> Target:
        return recipient_target(value)

    def render_event(self, event: TicketEvent, meta: Meta, *, template: str = "") -> RenderedMessage:
        return render_whatsapp(event, meta)

    async def send_message(
        self,
        api: ProviderHttp,
        bundle: Secrets,
        meta: Meta,
        message: RenderedMessage,
        *,
        thread_handle: str = "",
    ) -> SendResult:
        """The template message from the install's number to the configured recipient (no threads)."""
        phone_id, to = str(meta.get("phone_number_id") or ""), str(meta.get("recipient") or "")
        if not GRAPH_ID.match(phone_id) or not RECIPIENT.match(to):
            return missing_target("recipient")
        token = str(bundle.get("access_token") or "")
        payload = dict(message.payload) | {"to": to.lstrip("+")}
        answer = await attempt(api, "POST", f"/{phone_id}/messages", bearer=token, json=payload)
        if isinstance(answer, SendResult):
            return answer
        if answer.status < 300 and isinstance(answer.body, dict) and "error" not in answer.body:
            return delivered(answer)
        return judge_send_error(answer)

    async def probe(self, api: ProviderHttp, bundle: Secrets, meta: Meta) -> SendResult | None:
        """`GET /{phone_number_id}` with the business token: the number, while the token reaches it."""
        phone_id = str(meta.get("phone_number_id") or "")
        if not GRAPH_ID.match(phone_id):
            return missing_target("phone number")
        token = str(bundle.get("access_token") or "")
        params = {"fields": "display_phone_number,verified_name"}
        answer = await attempt(api, "GET", f"/{phone_id}", bearer=token, params=params)
        if isinstance(answer, SendResult):
            return answer
        if answer.status < 300 and isinstance(answer.body, dict) and "error" not in answer.body:
            return delivered(answer)
        error = answer.body.get("error") if isinstance(answer.body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        refused = _PROBE_REFUSALS.get(code) if isinstance(code, int) else None
        if refused or answer.status == 401:
            return result(Outcome.AUTH_FAILED, answer, refused or "access_revoked")
        return judge_send_error(answer)

    async def connect(self, api: ProviderHttp, fields: dict[str, Any], ctx: ConnectContext) -> Installation:
        waba_id, phone_id = str(fields.get("waba_id", "")), str(fields.get("phone_number_id", ""))
        if not GRAPH_ID.match(waba_id) or not GRAPH_ID.match(phone_id):
            raise ServiceError(
                Reason.INVALID_INPUT, "the signup did not return a WhatsApp account and number"
            )
        entered = str(fields.get("recipient") or "")
        recipient = recipient_target(entered) if entered else None  # checked before any provider call
        client_id, secret = ctx.client_id, ctx.client_secret
        token = await _graph(
            api,
            "GET",
            "/oauth/access_token",
            params={"client_id": client_id, "client_secret": secret, "code": str(fields.get("code", ""))},
        )
        access = token.get("access_token")
        if not isinstance(access, str) or not access:
            raise ProviderError(Reason.BAD_RESPONSE, "no access_token")
        debug = await _graph(
            api,
            "GET",
            "/debug_token",
            params={"input_token": access, "access_token": f"{client_id}|{secret}"},
        )
        data: dict[str, Any] = debug["data"] if isinstance(debug.get("data"), dict) else {}
        if data.get("is_valid") is not True or str(data.get("app_id")) != client_id:
            raise ProviderError(Reason.INVALID_GRANT, "debug_token: not a valid token of this app")
        granted = {
            str(target)
            for grant in data.get("granular_scopes") or []
            if isinstance(grant, dict) and grant.get("scope") == MESSAGING
            for target in grant.get("target_ids") or []
        }
        if waba_id not in granted:
            raise ProviderError(Reason.INVALID_SCOPE, "the token does not reach the WhatsApp account picked")
        await _graph(api, "POST", f"/{waba_id}/subscribed_apps", bearer=access)
        phone = await _graph(
            api, "GET", f"/{phone_id}", bearer=access, params={"fields": "display_phone_number,verified_name"}
        )
        # The business's own number sends; the recipient (typed at connect time or later on the card) is
        # the target, so an install without one "needs setup" until the agent enters it.
        meta = {
            "waba_id": waba_id,
            "phone_number_id": phone_id,
            "business_id": str(fields.get("business_id", "")),
            "account_name": phone.get("verified_name") or "",
            "phone_number": phone.get("display_phone_number") or "",
        }
        if recipient is not None:
            meta |= {"target_id": recipient.id, "target_name": recipient.name, **recipient.extra}
        return Installation(
            meta=meta,
            secrets={"access_token": access, "waba_id": waba_id},  # revoke needs the WABA, not just the token
        )

    async def revoke(self, api: ProviderHttp, bundle: Secrets) -> None:
        """Unsubscribe our app from the customer's WABA (the token itself is the customer's grant)."""
        waba_id = str(bundle.get("waba_id") or "")
        if waba_id:
            await _graph(
                api, "DELETE", f"/{waba_id}/subscribed_apps", bearer=str(bundle.get("access_token", ""))
            )

    def handshake(self, query: Mapping[str, str], keys: Secrets) -> Reply:
        """Meta's subscription check: echo `hub.challenge` when `hub.verify_token` is ours, else 403."""
        token, expected = query.get("hub.verify_token", ""), str(keys.get("verify_token") or "")
        challenge = query.get("hub.challenge", "")
        verified = bool(expected) and hmac.compare_digest(token.encode(), expected.encode())
        if query.get("hub.mode") != "subscribe" or not verified or not _CHALLENGE.match(challenge):
            return Reply(403, '{"error": "forbidden"}')
        return Reply(200, challenge, "text/plain")

    def read_event(self, headers: Mapping[str, str], body: bytes, keys: Secrets, now: float) -> Verified:
        """`X-Hub-Signature-256: sha256=hex(HMAC-SHA256(app secret, body))`; entries that carry a `time`
        must be at most 5 minutes old. Acknowledged with 200, as Meta expects."""
        signature = headers.get("x-hub-signature-256", "")
        if not signature:
            raise InboundRefused("missing_signature")
        secret = str(keys.get("app_secret") or "")
        if not matches_hmac(signature, secret=secret, message=body, prefix="sha256="):
            raise InboundRefused("bad_signature")
        payload = json_object(body)
        entries = [e for e in payload.get("entry") or [] if isinstance(e, dict)]
        for entry in entries:
            if "time" in entry:
                require_fresh(entry["time"], now)
        if payload.get("object") != "whatsapp_business_account":
            return Verified(body_id(body), Reply(200))
        return Verified(
            body_id(body), Reply(200), tuple(e for entry in entries for e in _account_events(entry))
        )


def _account_events(entry: dict[str, Any]) -> list[StatusEvent]:
    """`account_update` changes that concern our install of the WABA they name."""
    found = []
    for change in entry.get("changes") or []:
        value = change.get("value") if isinstance(change, dict) else None
        if not isinstance(value, dict) or change.get("field") != "account_update":
            continue
        waba = obj(value.get("waba_info"))
        waba_id = text(waba.get("waba_id")) or text(entry.get("id"))
        action = _ACCOUNT_EVENTS.get(str(value.get("event")))
        if action and GRAPH_ID.match(waba_id):
            found.append(StatusEvent(action[0], action[1], {"waba_id": waba_id}))
    return found
