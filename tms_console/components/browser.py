"""Browser-side actions compiled into the bundle as real functions.

`rx.call_script` sends a string the frontend runs through `eval`, which a CSP without
'unsafe-eval' blocks; a function var given to `rx.call_function` is compiled JavaScript instead.
"""

from __future__ import annotations

import reflex as rx
from reflex.vars.function import FunctionStringVar
from reflex_base.event import no_args_event_spec
from reflex_base.vars.base import LiteralVar, Var


def run_in_browser(statement: str) -> rx.event.EventSpec:
    """Run one JavaScript statement on click; Vars may be interpolated into it with f-strings."""
    return rx.call_function(FunctionStringVar.create(f"(() => {statement})"))


class Every(rx.Fragment):
    """A timer in the tab: renders nothing; sends `on_tick` every `interval_ms` while on screen (the shape
    of Reflex's own `rx.clipboard`: a prop and an event trigger, read by the component's one hook)."""

    interval_ms: Var[int]
    on_tick: rx.EventHandler[no_args_event_spec]

    def add_imports(self) -> dict[str, str]:
        return {"react": "useEffect"}

    def add_hooks(self) -> list[str | Var]:
        tick = LiteralVar.create(self.event_triggers["on_tick"])
        return [
            Var(
                f"useEffect(() => {{ const every = setInterval({tick}, {self.interval_ms}); "
                "return () => clearInterval(every); }, []);",
                _var_data=tick._get_all_var_data(),
            )
        ]

    def _exclude_props(self) -> list[str]:
        return [*super()._exclude_props(), "interval_ms", "on_tick"]  # not attributes of a Fragment


def every(seconds: float, handler: rx.EventHandler) -> rx.Component:
    """`handler` (no arguments) every `seconds` while the component is on screen. The server holds nothing
    for the tab between two rounds; closing or leaving the page stops it."""
    return Every.create(interval_ms=int(seconds * 1000), on_tick=handler)
