"""What a provider is, as data. Hooks cover only what the data cannot express."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

AuthMode = Literal["oauth2", "bot_token", "webhook_url", "embedded_signup"]
ClientAuth = Literal["basic", "body"]


@dataclass(frozen=True)
class ProviderSpec:
    """One provider. Paths are relative to `authorize_url` / `api_base` (both overridable by env).

    `meta_fields` and `secret_fields` map our names to dotted paths in the token response: the
    first land in the row's `meta` (shown in the console), the second only in the encrypted bundle.
    """

    key: str
    name: str
    description: str
    auth_mode: AuthMode
    available: bool = True
    authorize_url: str = ""
    api_base: str = ""
    token_path: str = ""
    revoke_path: str | None = None
    scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    pkce: bool = False
    client_auth: ClientAuth = "basic"
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    meta_fields: Mapping[str, str] = field(default_factory=dict)
    secret_fields: Mapping[str, str] = field(default_factory=dict)
    required_meta: tuple[str, ...] = ()
    refresh: bool = False
    docs_url: str = ""
    # Where the built-in sandbox serves this provider, relative to the sandbox base URL.
    sandbox_authorize_path: str = ""
    sandbox_api_path: str = ""
    has_hooks: bool = False

    @property
    def logo(self) -> str:
        return f"/providers/{self.key}.svg"


def dig(data: object, path: str) -> object:
    """`dig({"a": {"b": 1}}, "a.b") == 1`; None when any step is missing."""
    current = data
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current
