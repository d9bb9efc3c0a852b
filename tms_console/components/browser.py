"""Browser-side actions compiled into the bundle as real functions.

`rx.call_script` sends a string the frontend runs through `eval`, which a CSP without
'unsafe-eval' blocks; a function var given to `rx.call_function` is compiled JavaScript instead.
"""

from __future__ import annotations

import reflex as rx
from reflex.vars.function import FunctionStringVar


def run_in_browser(statement: str) -> rx.event.EventSpec:
    """Run one JavaScript statement on click; Vars may be interpolated into it with f-strings."""
    return rx.call_function(FunctionStringVar.create(f"(() => {statement})"))
