"""Sample ticket events, one per type: what the TMS sends, for the live preview, test messages and tests."""

from __future__ import annotations

from typing import Any

_REQUESTER = {"id": "c0ffee00-0000-4000-8000-000000000042", "name": "Dana Whitfield",
              "email": "dana.whitfield@example.com"}  # fmt: skip
_AGENT = {"id": "a9e1b3c5-7d9f-4b1d-8e2f-3a4b5c6d7e8f", "name": "Priya Raman",
          "email": "priya.raman@example.com"}  # fmt: skip
_LEAD = {"id": "d4c3b2a1-0f9e-4d8c-b7a6-5e4d3c2b1a09", "name": "Marcus Lee",
         "email": "marcus.lee@example.com"}  # fmt: skip
_PERSON = {"id": _AGENT["id"], "name": _AGENT["name"]}


def _ticket(**changes: Any) -> dict[str, Any]:
    ticket = {
        "id": "5e7a1c3b-9d2f-4a6e-8b1c-7d3e5f9a2b4c",
        "number": 1042,
        "subject": 'Invoice PDF shows "0.00" total after plan upgrade',
        "status": "open",
        "priority": "high",
        "requester": _REQUESTER,
        "assignee": None,
        "url": "https://tms.example.com/t/northwind/tickets/1042",
    }
    return ticket | changes


def _event(
    event_type: str,
    serial: int,
    occurred_at: str,
    actor: dict[str, Any],
    ticket: dict[str, Any],
    **changes: Any,
) -> dict[str, Any]:
    return {
        "id": f"evt_01HQ8Z5K3M9P2R7T4V6X8Y0A{serial:02d}",
        "type": event_type,
        "occurred_at": occurred_at,
        "ticket": ticket,
        "actor": actor,
        "changes": changes,
    }


SAMPLE_EVENTS: dict[str, dict[str, Any]] = {
    "ticket.created": _event("ticket.created", 1, "2025-03-14T09:12:44Z", _REQUESTER, _ticket()),
    "ticket.assigned": _event(
        "ticket.assigned",
        2,
        "2025-03-14T09:21:30Z",
        _LEAD,
        _ticket(assignee=_AGENT),
        assignee={"from": None, "to": _PERSON},
    ),
    "ticket.status_changed": _event(
        "ticket.status_changed",
        3,
        "2025-03-14T09:40:03Z",
        _AGENT,
        _ticket(assignee=_AGENT, status="pending"),
        status={"from": "open", "to": "pending"},
    ),
    "ticket.priority_changed": _event(
        "ticket.priority_changed",
        4,
        "2025-03-14T09:41:12Z",
        _AGENT,
        _ticket(assignee=_AGENT, status="pending", priority="urgent"),
        priority={"from": "high", "to": "urgent"},
    ),
    "ticket.commented": _event(
        "ticket.commented",
        5,
        "2025-03-14T10:05:51Z",
        _AGENT,
        _ticket(assignee=_AGENT, status="pending", priority="urgent"),
        comment={
            "id": "8f9e0d1c-2b3a-4c5d-9e6f-7a8b9c0d1e2f",
            "body": "Thanks Dana, we reproduced it: the PDF renderer read the old plan's price. "
            "A fix is rolling out; corrected invoices will be re-sent within the hour.",
            "public": True,
        },
    ),
    "ticket.resolved": _event(
        "ticket.resolved",
        6,
        "2025-03-15T11:02:17Z",
        _AGENT,
        _ticket(assignee=_AGENT, status="resolved", priority="urgent"),
        status={"from": "pending", "to": "resolved"},
    ),
}
