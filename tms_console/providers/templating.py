"""Payload templates of the outgoing webhook: agent-written Jinja that turns a ticket event into JSON.

Templates are untrusted code, so three layers:

1. Jinja's `ImmutableSandboxedEnvironment`: no Python internals (`{{ ''.__class__ }}` raises
   SecurityError), no mutation of the event, `range()` capped at 100,000 items.
2. JSON by construction: autoescape is off (it is HTML escaping) and instead every `{{ ... }}` emits a
   JSON value (`finalize`), so `{{ ticket.subject }}` becomes `"Printer on fire"` with quotes and
   escapes, and a title like `", "admin": true` cannot add keys. `tojson` does the same explicitly.
   Build strings inside one expression: `{{ "Ticket #" ~ ticket.number ~ ": " ~ ticket.subject }}`.
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
from pathlib import Path
from typing import Any

from tms_console.domain.events import EVENT_LABELS

MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = 100_000  # above every chat provider's message limit (Google Chat: 32,000 bytes)
MAX_EVENT_CHARS = 200_000
RENDER_TIMEOUT_SECONDS = 3.0
CHILD_MEMORY_BYTES = 256 * 1024 * 1024  # Python with Jinja loaded needs ~25 MB of address space
CHILD_CPU_SECONDS = 4  # backstop for the wall-clock timeout


class TemplateError(ValueError):
    """A template that cannot be used; `str(error)` is a sentence to show the agent."""


def render(template: str, event: dict[str, Any]) -> str:
    """Render `template` for `event` in a resource-limited child process.

    The template sees `event` (the whole event) and each of its top-level keys (`ticket`, `actor`,
    `changes`, `comment`, ...), plus `event_labels` and the filters `tojson` and `slack_escape`.

    Args:
        template: Jinja source written by the agent (or one of `providers.ready_made.READY_MADE`).
        event: a JSON-serializable ticket event, like the values of `domain.sample_events.SAMPLE_EVENTS`.

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
            'complete JSON value, quotes included: write {{ ticket.subject }}, not "{{ ticket.subject }}".'
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


# The child imports this very module from where the parent loaded it (not whichever copy an
# isolated interpreter would find first), then renders.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD_CODE = (
    f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); "
    "from tms_console.providers.templating import _child_main; _child_main()"
)


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
