"""Payload templates of the outgoing webhook: agent-written Jinja that turns a ticket event into JSON.

Templates are untrusted code, so three layers:

1. Jinja's `ImmutableSandboxedEnvironment`: no Python internals (`{{ ''.__class__ }}` raises
   SecurityError), no mutation of the event, `range()` capped at 100,000 items.
2. JSON by construction: autoescape is off (it is HTML escaping) and instead every `{{ ... }}` emits a
   JSON value (`finalize`), so `{{ ticket.title }}` becomes `"Printer on fire"` with quotes and
   escapes, and a title like `", "admin": true` cannot add keys. `tojson` does the same explicitly.
   Build strings inside one expression: `{{ "Ticket #" ~ ticket.number ~ ": " ~ ticket.title }}`.
   The rendered text must parse as JSON.
3. A separate, short-lived process per render. The sandbox bounds what a template can reach, not what
   it can consume: nested loops burn CPU and `{% set s = s ~ s %}` repeated doubles memory, and Jinja
   offers no timeout (its docs and Twig's advisory CVE-2026-46627 both say to contain untrusted
   templates at the process level). The child runs with an empty environment (no secrets to find),
   an address-space limit and a CPU limit, and is killed after `RENDER_TIMEOUT_SECONDS`; its output
   is capped at `MAX_OUTPUT_CHARS`. Cost: one Python start (~0.1 s) per render, fine for a debounced
   live preview and for deliveries, which are sent from a background job.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from typing import Any

MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = 100_000  # above every chat provider's message limit (Google Chat: 32,000 bytes)
MAX_EVENT_CHARS = 200_000
RENDER_TIMEOUT_SECONDS = 3.0
CHILD_MEMORY_BYTES = 256 * 1024 * 1024  # Python with Jinja loaded needs ~25 MB of address space
CHILD_CPU_SECONDS = 4  # backstop for the wall-clock timeout

EVENT_TYPES: tuple[str, ...] = (
    "ticket.created",
    "ticket.updated",
    "ticket.assigned",
    "ticket.closed",
    "comment.created",
)
EVENT_LABELS: dict[str, str] = {
    "ticket.created": "New ticket",
    "ticket.updated": "Ticket updated",
    "ticket.assigned": "Ticket assigned",
    "ticket.closed": "Ticket closed",
    "comment.created": "New comment",
}


class TemplateError(ValueError):
    """A template that cannot be used; `str(error)` is a sentence to show the agent."""


def render(template: str, event: dict[str, Any]) -> str:
    """Render `template` for `event` in a resource-limited child process.

    The template sees `event` (the whole event) and each of its top-level keys (`ticket`, `actor`,
    `changes`, `comment`, ...), plus `event_labels` and the filters `tojson` and `slack_escape`.

    Args:
        template: Jinja source written by the agent (or one of `READY_MADE`).
        event: a JSON-serializable ticket event, like the values of `SAMPLE_EVENTS`.

    Returns:
        The rendered payload, guaranteed to parse as JSON.

    Raises:
        TemplateError: syntax error, unknown variable, forbidden access, non-JSON output, too large,
            too slow or too memory-hungry; the message says which and where.
    """
    if not isinstance(template, str):
        raise TemplateError("The template must be text.")
    if len(template) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"The template is too long (at most {MAX_TEMPLATE_CHARS:,} characters).")
    try:
        event_json = json.dumps(event, allow_nan=False)
    except (TypeError, ValueError):
        raise TemplateError("The event cannot be represented as JSON.") from None
    if len(event_json) > MAX_EVENT_CHARS:
        raise TemplateError("The event is too large to render.")
    request = json.dumps({"template": template, "event": json.loads(event_json)}).encode()
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and code; the template is data on stdin
            [sys.executable, "-I", "-X", "utf8", "-c", _CHILD_CODE],
            input=request,
            capture_output=True,
            timeout=RENDER_TIMEOUT_SECONDS,
            env={},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TemplateError(
            f"The template took longer than {RENDER_TIMEOUT_SECONDS:g} s to render; check its loops."
        ) from None
    output = _child_output(done)
    try:
        json.loads(output)
    except ValueError as exc:
        raise TemplateError(
            f"The rendered payload is not valid JSON (line {getattr(exc, 'lineno', '?')}, column "
            f"{getattr(exc, 'colno', '?')}: {getattr(exc, 'msg', exc)}). Every {{{{ ... }}}} inserts a "
            'complete JSON value, quotes included: write {{ ticket.title }}, not "{{ ticket.title }}".'
        ) from None
    return output


def _child_output(done: subprocess.CompletedProcess[bytes]) -> str:
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = None
    if done.returncode != 0 or not isinstance(result, dict):
        # Killed by the memory or CPU limit (or a MemoryError before it could answer).
        raise TemplateError("The template needs too much memory or time to render.")
    if "error" in result:
        raise TemplateError(str(result["error"]))
    return str(result["output"])


_CHILD_CODE = "from tms_console.services.templates import _child_main; _child_main()"


def _child_main() -> None:
    """Entry point of the render process: limit itself, then render the request read from stdin."""
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CHILD_CPU_SECONDS, CHILD_CPU_SECONDS))
    request = json.loads(sys.stdin.buffer.read())
    try:
        result = {"output": _render_here(request["template"], request["event"])}
    except TemplateError as exc:
        result = {"error": str(exc)}
    sys.stdout.buffer.write(json.dumps(result).encode())


def _render_here(source: str, event: dict[str, Any]) -> str:
    """Render in this process. Only the child calls this: it has no resource limits of its own."""
    from jinja2 import exceptions as jinja_errors

    context = {key: value for key, value in event.items() if key.isidentifier()}
    context["event"] = event
    try:
        template = _environment().from_string(source)
        chunks, size = [], 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateError(f"The rendered payload is larger than {MAX_OUTPUT_CHARS:,} characters.")
            chunks.append(chunk)
        return "".join(chunks)
    except TemplateError:
        raise
    except jinja_errors.TemplateSyntaxError as exc:
        raise TemplateError(f"Syntax error on line {exc.lineno}: {exc.message}") from None
    except jinja_errors.UndefinedError as exc:
        names = ", ".join(sorted(context))
        raise TemplateError(f"Unknown variable or field: {exc.message}. Available: {names}.") from None
    except jinja_errors.SecurityError as exc:
        raise TemplateError(f"Not allowed in a template: {exc.message}") from None
    except MemoryError:
        raise TemplateError("The template needs too much memory or time to render.") from None
    except RecursionError:
        raise TemplateError("The template nests too deeply.") from None
    except Exception as exc:
        raise TemplateError(f"The template failed: {exc}") from None


class _Json(str):
    """Text that is already JSON (from `tojson`), so `finalize` does not encode it again."""


def _json_value(value: Any) -> _Json:
    try:
        return _Json(json.dumps(value, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError):
        raise TemplateError(f"A {type(value).__name__} cannot be inserted as JSON.") from None


def _finalize(value: Any) -> str:
    from jinja2 import Undefined

    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming the variable
    return value if isinstance(value, _Json) else _json_value(value)


def _slack_escape(value: Any) -> str:
    # Slack's three control characters; unescaped, a ticket title "<!channel>" would ping everyone.
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Environment(ImmutableSandboxedEnvironment):
        # Intercepting these also stops Jinja from folding `"x" * 10**9` at compile time.
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and (abs(left) > 1_000_000 or abs(right) > 100):
                raise TemplateError("Numbers in the template are too large.")
            if operator == "*":
                sized = left if isinstance(left, str | list | tuple) else right
                times = right if sized is left else left
                if isinstance(sized, str | list | tuple) and isinstance(times, int):
                    if len(sized) * times > MAX_OUTPUT_CHARS:
                        raise TemplateError("A repeated value in the template is too large.")
            return super().call_binop(context, operator, left, right)

    env = Environment(autoescape=False, undefined=StrictUndefined, finalize=_finalize, cache_size=0)
    env.filters["tojson"] = _json_value
    env.filters["slack_escape"] = _slack_escape
    env.globals["event_labels"] = EVENT_LABELS
    return env


# --- Sample events: what the TMS sends, used for the live preview and the tests. -------------------

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


# --- Ready-made templates --------------------------------------------------------------------------
# Each renders every sample event; tests/unit/test_templates.py checks the shape each target expects.

_HEADER = """\
{%- set label = event_labels.get(event.type, event.type) -%}
{%- set heading = label ~ ": #" ~ ticket.number ~ " " ~ ticket.title -%}
{%- set detail = comment.body if comment is defined else ticket.description -%}
{%- set assignee = ticket.assignee.name if ticket.assignee else "Unassigned" -%}
"""

READY_MADE: dict[str, str] = {
    # The event exactly as the TMS produced it.
    "generic": "{{ event }}\n",
    # Slack incoming webhook: {"text", "blocks"} (PROVIDERS.md §2.8); user text escaped for mrkdwn.
    "slack": _HEADER
    + """{
  "text": {{ heading | slack_escape }},
  "blocks": [
    {"type": "header", "text": {"type": "plain_text", "text": {{ heading | truncate(150, true, "…", 0) }}}},
    {"type": "section", "text": {"type": "mrkdwn",
      "text": {{ (detail | slack_escape | truncate(2900, true, "…", 0)) or "-" }}}},
    {"type": "section", "fields": [
      {"type": "mrkdwn", "text": {{ "*Status*\\n" ~ ticket.status }}},
      {"type": "mrkdwn", "text": {{ "*Priority*\\n" ~ ticket.priority }}},
      {"type": "mrkdwn", "text": {{ "*Assignee*\\n" ~ (assignee | slack_escape) }}},
      {"type": "mrkdwn", "text": {{ "*By*\\n" ~ (actor.name | slack_escape) }}}
    ]},
    {"type": "actions", "elements": [
      {"type": "button", "text": {"type": "plain_text", "text": "Open ticket"}, "url": {{ ticket.url }}}
    ]}
  ]
}
""",
    # Teams Incoming Webhook / Workflows: a message with one Adaptive Card (PROVIDERS.md §3.8).
    "msteams": _HEADER
    + """{
  "type": "message",
  "attachments": [{
    "contentType": "application/vnd.microsoft.card.adaptive",
    "contentUrl": null,
    "content": {
      "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
      "type": "AdaptiveCard",
      "version": "1.2",
      "body": [
        {"type": "TextBlock", "text": {{ label ~ ": #" ~ ticket.number }},
         "weight": "Bolder", "size": "Medium", "wrap": true},
        {"type": "TextBlock", "text": {{ ticket.title }}, "wrap": true},
        {"type": "TextBlock", "text": {{ detail | truncate(1000, true, "…", 0) }},
         "wrap": true, "isSubtle": true},
        {"type": "FactSet", "facts": [
          {"title": "Status", "value": {{ ticket.status }}},
          {"title": "Priority", "value": {{ ticket.priority }}},
          {"title": "Assignee", "value": {{ assignee }}},
          {"title": "By", "value": {{ actor.name }}}
        ]}
      ],
      "actions": [{"type": "Action.OpenUrl", "title": "Open ticket", "url": {{ ticket.url }}}]
    }
  }]
}
""",
    # Google Chat incoming webhook: {"text"} with Chat's *bold* and <url|label> link syntax (§4.6).
    "google_chat": _HEADER
    + """{
  "text": {{ "*" ~ label ~ "* <" ~ ticket.url ~ "|#" ~ ticket.number ~ ">: " ~ ticket.title
             ~ "\\nStatus: " ~ ticket.status ~ " · Priority: " ~ ticket.priority ~ " · Assignee: " ~ assignee
             ~ "\\n" ~ (detail | truncate(1000, true, "…", 0)) }}
}
""",
    # Discord webhook: {"content", "embeds"} within Discord's limits; mentions disabled (§1.8).
    "discord": _HEADER
    + """{%- set colors = {"urgent": 15548997, "high": 15105570, "normal": 3447003, "low": 9807270} -%}
{
  "content": {{ heading | truncate(2000, true, "…", 0) }},
  "embeds": [{
    "title": {{ ("#" ~ ticket.number ~ " " ~ ticket.title) | truncate(256, true, "…", 0) }},
    "url": {{ ticket.url }},
    "description": {{ (detail | truncate(4000, true, "…", 0)) or "-" }},
    "color": {{ colors.get(ticket.priority, 5793266) }},
    "fields": [
      {"name": "Status", "value": {{ ticket.status }}, "inline": true},
      {"name": "Priority", "value": {{ ticket.priority }}, "inline": true},
      {"name": "Assignee", "value": {{ assignee }}, "inline": true}
    ],
    "footer": {"text": {{ project.name ~ " · " ~ label }}},
    "timestamp": {{ event.occurred_at }}
  }],
  "allowed_mentions": {"parse": []}
}
""",
}
