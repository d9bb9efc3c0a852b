"""The one reason-code enum, shared by the API, the console and the audit trail.

Users never see provider text: each code maps to a fixed, helpful sentence (the seed's
troubleshooting table).
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    INSTALLED = "installed"
    ACCESS_DENIED = "access_denied"
    INVALID_STATE = "invalid_state"
    STATE_REUSED = "state_reused"
    DUPLICATE_PARAMETER = "duplicate_parameter"
    WRONG_CONSOLE_USER = "wrong_console_user"
    WRONG_ACCOUNT = "wrong_account"
    RECONNECTED = "reconnected"
    REPLACED = "replaced"
    REPLACEMENT_REFUSED = "replacement_refused"
    REPLACEMENT_EXPIRED = "replacement_expired"
    INVALID_BROWSER = "invalid_browser"
    TYPE_MISMATCH = "type_mismatch"
    MISSING_CODE = "missing_code"
    INVALID_REQUEST = "invalid_request"
    NOT_FOUND = "not_found"
    INVALID_CLIENT = "invalid_client"
    REDIRECT_URI_MISMATCH = "redirect_uri_mismatch"
    INVALID_GRANT = "invalid_grant"
    INVALID_SCOPE = "invalid_scope"
    PROVIDER_ERROR = "provider_error"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    RATE_LIMITED = "rate_limited"
    BAD_RESPONSE = "bad_response"
    MISSING_GUILD = "missing_guild"
    MISSING_CHANNEL = "missing_channel"
    NOT_CONFIGURED = "not_configured"
    NOT_SAVED = "not_saved"
    UNAVAILABLE = "unavailable"
    UNINSTALLED = "uninstalled"
    INSTALL_STARTED = "install_started"
    TOO_MANY_REQUESTS = "too_many_requests"
    INVALID_INPUT = "invalid_input"
    NEEDS_RECONNECT = "needs_reconnect"
    ADMIN_CONSENT_REQUIRED = "admin_consent_required"
    ADMIN_CONSENT_GRANTED = "admin_consent_granted"
    TARGET_SAVED = "target_saved"
    POPUP_BLOCKED = "popup_blocked"
    NOT_ALLOWED = "not_allowed"
    ENDPOINT_GONE = "endpoint_gone"
    HOOK_SUBSCRIBED = "hook_subscribed"
    HOOK_UNSUBSCRIBED = "hook_unsubscribed"
    HOOK_GONE = "hook_gone"
    TOO_MANY_HOOKS = "too_many_hooks"
    DELIVERY_PENDING = "delivery_pending"
    INTEGRATION_DISABLED = "integration_disabled"
    EVENTS_CHANGED = "events_changed"
    NEEDS_TARGET = "needs_target"
    TEST_FAILED = "test_failed"
    DEV_ONLY = "dev_only"
    TEST_SENT = "test_sent"
    DELIVERY_RESENT = "delivery_resent"
    DELIVERIES_RETRIED = "deliveries_retried"


MESSAGES: dict[Reason, str] = {
    Reason.INSTALLED: "{provider} is connected.",
    Reason.ACCESS_DENIED: "Installation cancelled at {provider}. Nothing was connected.",
    Reason.INVALID_STATE: (
        "This installation link has expired or was already used. "
        "Start the installation again from the console."
    ),
    Reason.STATE_REUSED: (
        "This installation link was already used. If the integration is not connected, "
        "start the installation again from the console."
    ),
    Reason.DUPLICATE_PARAMETER: (
        "The provider's answer was malformed (a parameter was repeated). Start the installation again."
    ),
    Reason.WRONG_CONSOLE_USER: (
        "This installation was started by a different console account than the one signed in here. "
        "Nothing was connected. Start it again while signed in as yourself."
    ),
    Reason.WRONG_ACCOUNT: (
        "{provider} answered for a different account than the one connected here ({account}). "
        "Nothing was changed: reconnect with {account}, or confirm that the new account replaces it."
    ),
    Reason.RECONNECTED: "{provider} is reconnected.",
    Reason.REPLACED: "{provider} now uses the new account; the old one's access was revoked.",
    Reason.REPLACEMENT_REFUSED: "{provider} stays connected to {account}. Nothing was changed.",
    Reason.REPLACEMENT_EXPIRED: (
        "The replacement waited too long and was dropped. Nothing was changed; reconnect again."
    ),
    Reason.INVALID_BROWSER: (
        "This installation was started in another browser or session. Start it again from this browser."
    ),
    Reason.TYPE_MISMATCH: "The provider answered for a different integration. Start again.",
    Reason.MISSING_CODE: "{provider} did not send an authorization code. Please try again.",
    Reason.INVALID_REQUEST: "{provider} rejected the installation request. Please try again.",
    Reason.NOT_FOUND: "This project or integration does not exist (any more). Refresh the page.",
    Reason.INVALID_CLIENT: (
        "{provider} rejected the console's app credentials. An administrator must check "
        "the client ID and client secret configured for {provider}."
    ),
    Reason.REDIRECT_URI_MISMATCH: (
        "{provider} rejected the redirect URI. It must match, character for character, the one "
        "registered in the {provider} app settings."
    ),
    Reason.INVALID_GRANT: (
        "{provider} refused the authorization code (it expired or was already used). Please install again."
    ),
    Reason.INVALID_SCOPE: "{provider} refused the requested permissions. An administrator must "
    "check the app's configured scopes.",
    Reason.PROVIDER_ERROR: "{provider} reported an error during installation. Please try again.",
    Reason.PROVIDER_UNAVAILABLE: (
        "{provider} could not be reached or answered with an error. Nothing was saved; "
        "please try again in a few minutes."
    ),
    Reason.RATE_LIMITED: "{provider} is rate limiting requests. Wait a minute and try again.",
    Reason.BAD_RESPONSE: "{provider} sent an answer the console could not understand. "
    "Nothing was saved; please try again.",
    Reason.MISSING_GUILD: (
        "Discord did not say which server the app was added to. Pick a server and a channel "
        "on the Discord page, then approve."
    ),
    Reason.MISSING_CHANNEL: "{provider} did not say which channel to post to. Pick a channel "
    "when you approve.",
    Reason.NOT_CONFIGURED: "{provider} is not configured on this console yet. "
    "Ask an administrator to set its client ID and secret.",
    Reason.NOT_SAVED: "The integration could not be saved. Nothing was stored; please try again.",
    Reason.UNAVAILABLE: "The console is temporarily unavailable. Please try again shortly.",
    Reason.UNINSTALLED: "{provider} was disconnected.",
    Reason.INSTALL_STARTED: "Installation started.",
    Reason.TOO_MANY_REQUESTS: "Too many installation attempts in a short time. Wait a minute and try again.",
    Reason.INVALID_INPUT: "Some of what was entered is not valid. Check the form and try again.",
    Reason.NEEDS_RECONNECT: "{provider} no longer accepts the stored credentials. Reconnect it.",
    Reason.ADMIN_CONSENT_REQUIRED: (
        "Your {provider} organization requires an administrator to approve this app first. "
        "Send your administrator the admin consent link below, then install again."
    ),
    Reason.ADMIN_CONSENT_GRANTED: "An administrator approved the app for the organization. Install it now.",
    Reason.TARGET_SAVED: "Saved: {provider} notifications go there from now on.",
    Reason.ENDPOINT_GONE: "The {provider} endpoint answered 410 Gone, so deliveries to it stopped. "
    "Connect a new endpoint to receive events again.",
    Reason.HOOK_SUBSCRIBED: "The REST hook is subscribed: ticket events are posted to its URL.",
    Reason.HOOK_UNSUBSCRIBED: "The REST hook was removed; its URL receives nothing more.",
    Reason.HOOK_GONE: "The REST hook's URL answered 410 Gone, so the subscription was removed.",
    Reason.TOO_MANY_HOOKS: "This project has as many REST hooks as it may have. Remove one first.",
    Reason.DELIVERY_PENDING: "This delivery is still under way (or waits for a reconnect). "
    "Resend it once it has finished.",
    Reason.INTEGRATION_DISABLED: "{provider} is disabled, so nothing can be sent to it. Reconnect it first.",
    Reason.NOT_ALLOWED: "This page is for tenant administrators. Ask an admin of your organisation.",
    Reason.POPUP_BLOCKED: "The browser blocked the {provider} window. Allow pop-ups here and try again.",
    Reason.EVENTS_CHANGED: "Saved: {provider} receives the ticket events picked from now on.",
    Reason.NEEDS_TARGET: "{provider} does not know where to post yet. Choose it on the card first, "
    "then try again.",
    Reason.TEST_FAILED: "{provider} did not take the test message. Check its setup and try again.",
    Reason.DEV_ONLY: "Simulated ticket events exist only in development and test consoles.",
    Reason.TEST_SENT: "{provider} took the test message.",
    Reason.DELIVERY_RESENT: "A delivery to {provider} was queued again.",
    Reason.DELIVERIES_RETRIED: "The failed deliveries to {provider} were queued again.",
}


def parse_reason(value: str | None) -> Reason | None:
    try:
        return Reason(value) if value else None
    except ValueError:
        return None


def describe(reason: Reason, provider_name: str, account: str = "") -> str:
    """The reason's sentence; `account` is a stored display name (never text from a request)."""
    return MESSAGES[reason].format(provider=provider_name, account=account or "the account installed")
