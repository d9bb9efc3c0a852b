"""Provider quirks the spec cannot express. A hook module may define any of:

- `check_token_response(status, body) -> dict`: judge the token response (raise ProviderError).
- `async after_install(api, token, meta) -> None`: enrich `meta` (e.g. fetch the Discord guild).
- `async revoke(provider, bundle) -> None`: provider-specific uninstall.

Hooks receive a narrow facade (`ProviderApi`), never the database or settings.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from tms_console.providers.spec import ProviderSpec


def load_hooks(spec: ProviderSpec) -> ModuleType | None:
    if not spec.has_hooks:
        return None
    return importlib.import_module(f"tms_console.providers.hooks.{spec.key}")
