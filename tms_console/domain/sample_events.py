"""Sample ticket events, one per type: what the TMS sends, for the live preview, test messages and tests."""

from __future__ import annotations

from typing import Any

_TENANT = {"id": "6f1c2a9e-3b7d-4c1e-9a52-0d8e4f7b1c23", "name": "Northwind Support"}
_PROJECT = {"id": "b2d4e6f8-1a3c-4e5f-8a7b-9c0d1e2f3a4b", "name": "Customer Care"}
_REQUESTER = {"id": "c0ffee00-0000-4000-8000-000000000042", "name": "Dana Whitfield",
              "email": "dana.whitfield@example.com", "type": "customer"}  # fmt: skip
_AGENT = {"id": "a9e1b3c5-7d9f-4b1d-8e2f-3a4b5c6d7e8f", "name": "Priya Raman",
          "email": "priya.raman@example.com", "type": "agent"}  # fmt: skip
_LEAD = {"id": "d4c3b2a1-0f9e-4d8c-b7a6-5e4d3c2b1a09", "name": "Marcus Lee",
         "email": "marcus.lee@example.com", "type": "agent"}  # fmt: skip


def _ticket(**changes: Any) -> dict[str, Any]:
    ticket = {
        "id": "5e7a1c3b-9d2f-4a6e-8b1c-7d3e5f9a2b4c",
        "number": 1042,
        "title": 'Invoice PDF shows "0.00" total after plan upgrade',
        "description": "Since upgrading to the Pro plan this morning, every invoice PDF we download "
        "shows a total of 0.00 <EUR>, although the card was charged 49.00. Affects invoices "
        "INV-2291 to INV-2295.",
        "status": "open",
        "priority": "high",
        "type": "incident",
        "channel": "email",
        "tags": ["billing", "invoices", "pro-plan"],
        "requester": _REQUESTER,
        "assignee": None,
        "group": {"id": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "name": "Billing"},
        "url": "https://tms.example.com/t/northwind/tickets/1042",
        "created_at": "2025-03-14T09:12:44Z",
        "updated_at": "2025-03-14T09:12:44Z",
        "due_at": "2025-03-14T17:12:44Z",
    }
    return ticket | changes


def _event(
    event_type: str, serial: int, occurred_at: str, actor: dict[str, Any], **rest: Any
) -> dict[str, Any]:
    return {
        "id": f"evt_01HQ8Z5K3M9P2R7T4V6X8Y0A{serial:02d}",
        "type": event_type,
        "occurred_at": occurred_at,
        "tenant": _TENANT,
        "project": _PROJECT,
        "actor": actor,
    } | rest


SAMPLE_EVENTS: dict[str, dict[str, Any]] = {
    "ticket.created": _event("ticket.created", 1, "2025-03-14T09:12:44Z", _REQUESTER, ticket=_ticket()),
    "ticket.updated": _event(
        "ticket.updated",
        2,
        "2025-03-14T09:20:03Z",
        _AGENT,
        ticket=_ticket(
            priority="urgent",
            status="pending",
            updated_at="2025-03-14T09:20:03Z",
            tags=["billing", "invoices", "pro-plan", "regression"],
        ),
        changes={
            "priority": {"from": "high", "to": "urgent"},
            "status": {"from": "open", "to": "pending"},
            "tags": {
                "from": ["billing", "invoices", "pro-plan"],
                "to": ["billing", "invoices", "pro-plan", "regression"],
            },
        },
    ),
    "ticket.assigned": _event(
        "ticket.assigned",
        3,
        "2025-03-14T09:21:30Z",
        _LEAD,
        ticket=_ticket(assignee=_AGENT, updated_at="2025-03-14T09:21:30Z"),
        changes={"assignee": {"from": None, "to": {"id": _AGENT["id"], "name": _AGENT["name"]}}},
    ),
    "ticket.closed": _event(
        "ticket.closed",
        4,
        "2025-03-15T11:02:17Z",
        _AGENT,
        ticket=_ticket(
            status="closed",
            assignee=_AGENT,
            updated_at="2025-03-15T11:02:17Z",
            closed_at="2025-03-15T11:02:17Z",
            resolution="fixed",
        ),
        changes={"status": {"from": "pending", "to": "closed"}},
    ),
    "comment.created": _event(
        "comment.created",
        5,
        "2025-03-14T10:05:51Z",
        _AGENT,
        ticket=_ticket(status="pending", assignee=_AGENT, updated_at="2025-03-14T10:05:51Z"),
        comment={
            "id": "8f9e0d1c-2b3a-4c5d-9e6f-7a8b9c0d1e2f",
            "body": "Thanks Dana, we reproduced it: the PDF renderer read the old plan's price. "
            "A fix is rolling out; corrected invoices will be re-sent within the hour.",
            "public": True,
            "author": _AGENT,
            "created_at": "2025-03-14T10:05:51Z",
        },
    ),
}
