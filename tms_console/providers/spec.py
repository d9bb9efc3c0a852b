"""What a provider is, as data. Hooks cover only what the data cannot express."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

AuthMode = Literal["oauth2", "bot_token", "webhook_url", "embedded_signup"]
ClientAuth = Literal["basic", "body"]
FieldKind = Literal["text", "secret", "url", "choices", "template"]


@dataclass(frozen=True)
class FormField:
    """One input of a provider's connect form (modes without an OAuth redirect).

    The console renders the form from these and the API validates against them; the values
    reach the provider's `connect` hook, which decides what is a secret.
    """

    name: str
    label: str
    kind: FieldKind = "text"
    help: str = ""
    required: bool = True
    max_length: int = 2000
    choices: tuple[str, ...] = ()  # for "choices": any subset may be picked


@dataclass(frozen=True)
class ProviderSpec:
    """One provider. Paths are relative to `authorize_url` / `api_base` (both overridable by env).

    `meta_fields` and `secret_fields` map our names to dotted paths in the token response: the
    first land in the row's `meta` (shown in the console), the second only in the encrypted bundle.
    Provider-supplied URLs are trusted only on `trusted_domains` (and their subdomains): a secret
    URL elsewhere fails the install, a display URL elsewhere is dropped from `meta`.
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
    # Refresh tokens that die when unused (Microsoft: 90 days; Google: ~6 months): refreshed at least daily.
    refresh_when_idle: bool = False
    trusted_domains: tuple[str, ...] = ()
    secret_url_fields: tuple[str, ...] = ()  # names in `secret_fields` the console will call
    display_url_fields: tuple[str, ...] = ()  # names in `meta` the console may show as links
    docs_url: str = ""
    # A second API host (Microsoft Graph next to the login host); `<P>_GRAPH_API_BASE` overrides it.
    graph_api_base: str = ""
    # Modes without a redirect: what the agent fills in (bot token, webhook URL, ...).
    form_fields: tuple[FormField, ...] = ()
    # Set when the agent picks where notifications go after connecting ("Channel", "Space", "Chat").
    target_label: str = ""
    target_hint: str = ""  # what to do when there is nothing to pick yet
    # Microsoft's tenant-wide admin consent, offered when the callback says it is required.
    admin_consent_path: str = ""
    # The `type` of the popup's postMessage result (Meta: "WA_EMBEDDED_SIGNUP").
    popup_message_type: str = ""
    # Optional variables beyond the common ones: (name without prefix, what it is for).
    extra_env: tuple[tuple[str, str], ...] = ()
    # Extra authorize parameters that name deployment settings, e.g. {"config_id": "config_id"}.
    authorize_settings: Mapping[str, str] = field(default_factory=dict)
    # The `meta` field naming the provider account an install reaches (workspace, server, tenant, bot):
    # a reinstall that reaches another account is held until the agent confirms it replaces the old one.
    account_key: str = ""
    # `meta` fields set after installing (the picked target, what the provider told us since) that a
    # reconnect to the same account keeps, unless it brings its own.
    kept_meta: tuple[str, ...] = ()
    # Whether a reconnect to the same account revokes the credentials it replaces. False where that
    # revoke would reach the new install too (a grant-wide revoke, an uninstall-style hook).
    revoke_same_account: bool = True

    @property
    def logo(self) -> str:
        return f"/providers/{self.key}.svg"

    @property
    def install_kind(self) -> str:
        """How the console starts an install: a full-page redirect, a form, or a popup."""
        return {"oauth2": "redirect", "embedded_signup": "popup"}.get(self.auth_mode, "form")

    @property
    def uses_client_credentials(self) -> bool:
        return self.auth_mode in ("oauth2", "embedded_signup")


def dig(data: object, path: str) -> object:
    """`dig({"a": {"b": 1}}, "a.b") == 1`; None when any step is missing."""
    current = data
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def is_trusted_url(url: object, *, domains: tuple[str, ...] = (), origin: str | None = None) -> bool:
    """Whether a provider-supplied URL may be called or linked.

    True for https on one of `domains` or a subdomain (default port), or for a URL on exactly
    `origin` (scheme, host and port: the dev stand-ins serve plain http on a local port).
    Anything a browser or client might read differently is refused: userinfo, backslashes,
    whitespace and control characters.
    """
    if not isinstance(url, str) or not url.isprintable() or any(c in url for c in " \\"):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if not host or "@" in parts.netloc:
        return False
    if origin is not None:
        want = urlsplit(origin)
        defaults = {"http": 80, "https": 443}
        same_port = (port or defaults.get(parts.scheme)) == (want.port or defaults.get(want.scheme))
        return (parts.scheme, host) == (want.scheme, (want.hostname or "").lower()) and same_port
    on_domain = any(host == d or host.endswith("." + d) for d in domains)
    return parts.scheme == "https" and port in (None, 443) and on_domain
