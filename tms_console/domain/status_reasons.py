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
    "recovered": "Working again.",
    "delivery_failed": "Messages could not be delivered. Open Activity to see why and retry them.",
    "uninstalled_by_provider": "The app was removed on the platform's side. Reconnect it to resume.",
    "tokens_revoked": "The platform revoked the console's access. Reconnect it to resume.",
    "deauthorized": "The app's authorization was withdrawn on the platform. Reconnect it to resume.",
    "refresh_failed": "The console could not renew its access for days. Reconnect it to resume.",
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
