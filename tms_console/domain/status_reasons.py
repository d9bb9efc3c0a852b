"""An integration's status and its reason code in plain words, with the action that fixes it.

Shown on the card (under the status badge) and in the admin overview. Reason codes a status carries
are the lifecycle's own (below) or a delivery's (a platform refusing our credentials says why in the
delivery vocabulary of `delivery_reasons`), so an unknown code falls back to those sentences.
"""

from __future__ import annotations

from tms_console.domain import delivery_reasons

# One sentence per lifecycle reason code, said to an agent; helpers add theirs here.
EXPLANATIONS: dict[str, str] = {
    "reconnected": "Reconnected.",
    "replaced": "Connected to another account of the platform, as an agent confirmed.",
    "recovered": "Working again.",
    "delivery_failed": "Messages could not be delivered. Open Activity to see why and retry them.",
    "uninstalled_by_provider": "The app was removed on the platform's side. Reconnect it to resume.",
    "tokens_revoked": "The platform revoked the console's access. Reconnect it to resume.",
    "deauthorized": "The app's authorization was withdrawn on the platform. Reconnect it to resume.",
    "refresh_failed": "The console could not renew its access for days. Reconnect it to resume.",
    # Health checks and proactive token refresh (services/health_checks.py, services/refresh.py).
    "access_revoked": "The platform no longer accepts the console's access (revoked, expired). Reconnect it.",
    "no_access": "The connected account lost access to the chosen channel, space or number. Reconnect it.",
    "webhook_deleted": "The Discord webhook was deleted or its token reset. Reconnect Discord.",
    "space_not_found": "The Google Chat space was not found (deleted?). Reconnect and pick another one.",
    "phone_number_not_found": "The WhatsApp number is out of this access's reach. Reconnect WhatsApp.",
    "check_failing": "The platform failed the console's last three health checks. Open Activity; "
    "if messages fail too, reconnect it.",
    "refresh_failing": "The console keeps failing to renew its access and retries. "
    "Reconnect it if this lasts a day.",
}

# What the agent does about each status, said after the reason.
_ACTIONS: dict[str, str] = {
    "needs_reconnect": "Reconnect it to resume deliveries.",
    "degraded": "Open Activity to see the failing deliveries.",
    "disabled": "Reconnect it to turn it back on.",
    "needs_setup": "Choose where its notifications go.",
}

_WITHOUT_REASON: dict[str, str] = {
    "needs_reconnect": "The platform no longer accepts the stored credentials.",
    "degraded": "Deliveries are failing.",
    "disabled": "It is disabled.",
    "needs_setup": "Connected, but nothing is chosen to receive notifications yet.",
}


def explain(status: str, reason: str | None) -> str:
    """What the status means and what to do ("" for a working or unconnected integration)."""
    if status not in _ACTIONS:
        return ""
    code = (reason or "").strip()
    if not code:
        return f"{_WITHOUT_REASON[status]} {_ACTIONS[status]}"
    sentence = EXPLANATIONS.get(code) or delivery_reasons.explain(code)
    if "Reconnect" in sentence or "Pick one" in sentence or "Activity" in sentence:
        return sentence  # the sentence already names the fix
    return f"{sentence} {_ACTIONS[status]}"
