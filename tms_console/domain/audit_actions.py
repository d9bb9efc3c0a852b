"""What the audit trail records an integration went through, as stored words and as plain labels."""

from __future__ import annotations

ACTION_LABELS: dict[str, str] = {
    "installed": "Installed",
    "uninstalled": "Uninstalled",
    "install_started": "Installation started",
    "install_failed": "Installation failed",
    "admin_consent_granted": "Admin consent granted",
    "status_changed": "Status changed",
    "needs_reconnect": "Marked for reconnect",
    "disabled": "Disabled",
    "target_changed": "Target changed",
    "events_changed": "Ticket events changed",
    "test_sent": "Test message sent",
    "delivery_resent": "Delivery resent",
    "deliveries_retried": "Failed deliveries retried",
    "subscribed": "REST hook subscribed",
    "unsubscribed": "REST hook removed",
}


def action_label(action: str) -> str:
    """The plain label of a stored action; an unknown one in readable form."""
    return ACTION_LABELS.get(action) or action.replace("_", " ").capitalize()
