"""Delivery reason codes in plain words, for the delivery log (REST and the Activity panel).

A reason is stored as a short code: one of ours (`server_error`, `uninstalled`...), a `Reason` value
carried by a provider error, or the platform's own word passed through (Slack `channel_not_found`,
Google `permission_denied`, Graph `InvalidAuthenticationToken`, `http_403`, WhatsApp `graph_131047`).
Each maps to a fixed sentence. A code nobody wrote a sentence for is named inside a fixed sentence,
reduced to harmless characters: provider text is never shown as it came.
"""

from __future__ import annotations

import re

_SENTENCES: dict[str, str] = {
    # Our own codes: the HTTP answer of a plain webhook, and the delivery step's stops.
    "server_error": "The receiving server had an error (5xx). It is tried again later.",
    "rate_limited": "The platform asked us to slow down (rate limit). It is tried again after the wait.",
    "timeout": "The receiver did not answer within 15 seconds. It is tried again later.",
    "unreachable": "The receiver could not be reached (connection failed). It is tried again later.",
    "gone": "The endpoint answered 410 Gone: it asked to be removed, so the webhook was disabled.",
    "rejected": "The receiver refused the message as sent (4xx). Retrying would not help.",
    "redirect": "The receiver answered with a redirect, which deliveries never follow. Update the URL.",
    "destination_refused": "The webhook's address is not allowed (a private or local network address).",
    "render_failed": "The message could not be built from this event (check the custom template).",
    "uninstalled": "The integration was uninstalled, so nothing was sent.",
    "disabled": "The integration is disabled, so nothing was sent.",
    "unsubscribed": "The REST hook was removed before this was sent, so nothing was sent.",
    "not_supported": "This integration does not receive ticket events.",
    "credentials_missing": "The integration has no stored credentials. Reconnect it.",
    "credentials_unreadable": "The stored credentials could not be opened. Reconnect the integration.",
    "refresh_refused": "The platform refused to renew our access. Reconnect the integration.",
    "send_error": "Sending failed unexpectedly inside the console. It is tried again later.",
    "missing_channel": "No channel (or chat, space, recipient) is chosen yet. Pick one on the card.",
    "unknown_thread": "The ticket's first message (its thread) was deleted on the platform.",
    # `Reason` values a provider call can fail with.
    "provider_unavailable": "The platform could not be reached or had an error. It is tried again later.",
    "provider_error": "The platform reported an error. It is tried again later.",
    "bad_response": "The platform sent an answer the console could not understand. It is tried again.",
    "needs_reconnect": "The platform no longer accepts the stored credentials. Reconnect the integration.",
    "invalid_grant": "The platform refused our stored authorization. Reconnect the integration.",
    "invalid_client": "The platform rejected the app credentials. An administrator must check them.",
    "invalid_request": "The platform rejected the request. An administrator should check the setup.",
    "invalid_scope": "The platform refused the requested permissions. Reconnect the integration.",
    "redirect_uri_mismatch": "The platform rejected the console's redirect URI. Check the app settings.",
    "admin_consent_required": "An administrator of the organization must approve the app first.",
    "access_denied": "Access was denied at the platform. Reconnect the integration.",
    "not_found": "The integration or project no longer exists.",
    "unavailable": "The console was temporarily unavailable. It is tried again later.",
    "endpoint_gone": "The endpoint answered 410 Gone, so the webhook was disabled.",
    "invalid_input": "The platform no longer accepts the stored token. Reconnect with a new one.",
    "missing_guild": "The Discord server is not known any more. Reconnect Discord.",
    # Slack's own words (chat.postMessage).
    "invalid_auth": "Slack no longer accepts the app's token. Reconnect Slack.",
    "token_revoked": "The Slack token was revoked. Reconnect Slack.",
    "account_inactive": "The Slack app's account is inactive (uninstalled or deactivated). Reconnect Slack.",
    "channel_not_found": "The channel was not found (deleted, or the app cannot see it). Pick another one.",
    "not_in_channel": "The app is not a member of the channel. Invite it, or pick another channel.",
    "is_archived": "The channel is archived. Unarchive it or pick another channel.",
    "ratelimited": "Slack asked us to slow down (rate limit). It is tried again after the wait.",
    "msg_too_long": "Slack refused the message as too long.",
    "no_text": "Slack refused the message as empty.",
    "invalid_blocks": "Slack refused the message's layout (blocks).",
    # Telegram.
    "invalid_token": "The bot token is no longer valid. Reconnect Telegram with a new token.",
    "bot_removed": "The bot was removed from the chat or blocked. Add it back, then reconnect.",
    "chat_not_found": "The chat was not found (deleted, or the bot cannot see it). Pick another one.",
    # Google's error statuses (lowercase) and Microsoft Graph's codes (compared in lowercase).
    "unauthenticated": "The platform no longer accepts our access. Reconnect the integration.",
    "permission_denied": "The app may no longer post there (removed from the space). Reconnect it.",
    "invalid_argument": "The platform refused the message as sent.",
    "failed_precondition": "The platform refused the message in the target's current state.",
    "resource_exhausted": "The platform's quota was used up (rate limit). It is tried again later.",
    "invalidauthenticationtoken": "Microsoft no longer accepts our access token. Reconnect Teams.",
    "unauthorized": "The platform no longer accepts our access. Reconnect the integration.",
    "forbidden": "The app may no longer post there (no longer a member). Reconnect the integration.",
    "notfound": "The channel or team was not found (deleted?). Pick another one.",
    "badrequest": "The platform refused the message as sent.",
    "toomanyrequests": "The platform asked us to slow down (rate limit). It is tried again later.",
}

# Families of codes that carry a number: the number is the only variable part shown.
_HTTP = re.compile(r"^http_([1-5][0-9]{2})$")
_GRAPH = re.compile(r"^graph_([0-9]{1,9})$")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
# Meta's WhatsApp Cloud API codes (PROVIDERS.md §6.8): the token, throttling, and the usual refusals.
_WHATSAPP = {
    "0": "WhatsApp no longer accepts our access. Reconnect WhatsApp.",
    "10": "WhatsApp says the app lacks the permission to send. Reconnect WhatsApp.",
    "190": "The WhatsApp access token expired or was revoked. Reconnect WhatsApp.",
    "200": "WhatsApp says the app lacks the permission to send. Reconnect WhatsApp.",
    "131047": "More than 24 hours passed since the customer's last message: only a template can be sent.",
    "131026": "The recipient's number cannot receive WhatsApp messages.",
}
_BY_STATUS = {
    "delivered": "Delivered.",
    "pending": "Waiting for its next attempt.",
    "paused": "Paused until the integration is reconnected.",
    "failed": "Failed.",
    "retry": "Failed for now; it is tried again later.",
    "auth_failed": "The platform refused our credentials. Reconnect the integration.",
}


def explain(reason: str | None, *, status: str = "") -> str:
    """A plain-words sentence for a delivery's (or an attempt's) reason code.

    Args:
        reason: the stored code, or None/"" when there is none (then `status` speaks).
        status: the delivery status or the attempt outcome, used when there is no reason.
    """
    code = (reason or "").strip()
    if not code:
        return _BY_STATUS.get(status, "")
    known = _SENTENCES.get(code) or _SENTENCES.get(code.lower())
    if known:
        return known
    return _numbered(code) or f"The delivery failed with the code {_shown(code)}."


def _numbered(code: str) -> str:
    http = _HTTP.match(code)
    if http:
        status = int(http.group(1))
        if status in (401, 403):
            return f"The platform refused our credentials (HTTP {status}). Reconnect the integration."
        if status == 404:
            return "The target was not found (HTTP 404): it was deleted or its address changed."
        return f"The platform refused the message (HTTP {status})."
    graph = _GRAPH.match(code)
    if graph:
        number = graph.group(1)
        return _WHATSAPP.get(number, f"WhatsApp refused the message (error {number}).")
    return ""


def _shown(code: str) -> str:
    """The code reduced to letters, digits and `_.-`, at most 50 characters."""
    return '"' + (_SAFE.sub("", code)[:50] or "unknown") + '"'


def is_known(reason: str) -> bool:
    """Whether `reason` has a sentence of its own (not the fallback naming the code)."""
    return bool(_SENTENCES.get(reason) or _SENTENCES.get(reason.lower()) or _numbered(reason))
