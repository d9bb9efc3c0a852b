"""Browser-side actions compiled into the bundle as real functions.

`rx.call_script` sends a string the frontend runs through `eval`, which a CSP without
'unsafe-eval' blocks; a function var given to `rx.call_function` is compiled JavaScript instead.
"""

from __future__ import annotations

import reflex as rx
from reflex.vars.function import FunctionStringVar
from reflex_base.event import EventChain, no_args_event_spec
from reflex_base.vars.base import LiteralVar, Var


def run_in_browser(statement: str) -> rx.event.EventSpec:
    """Run one JavaScript statement on click; Vars may be interpolated into it with f-strings."""
    return rx.call_function(FunctionStringVar.create(f"(() => {statement})"))


class _Every(rx.Fragment):
    """Renders nothing; its one hook is the timer `every()` builds."""

    def add_imports(self) -> dict[str, str]:
        return {"react": "useEffect"}

    def add_hooks(self) -> list[str | Var]:
        return [self._timer]  # type: ignore[attr-defined]


def every(seconds: float, handler: rx.EventHandler) -> rx.Component:
    """A timer in the tab: `handler` (no arguments) every `seconds` while the component is on screen.
    The server holds nothing for the tab between two rounds; closing or leaving the page stops it."""
    tick = LiteralVar.create(EventChain.create(value=handler, args_spec=no_args_event_spec))
    timer = _Every.create()
    object.__setattr__(
        timer,
        "_timer",
        Var(
            f"useEffect(() => {{ const every = setInterval({tick}, {int(seconds * 1000)}); "
            "return () => clearInterval(every); }, []);",
            _var_data=tick._get_all_var_data(),
        ),
    )
    return timer
