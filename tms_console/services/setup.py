"""What an operator must configure for a provider, and a live check that it works before an agent tries.

The seed's troubleshooting table, built into the product: the exact redirect URI to register, the
scopes, the environment variables read (and whether each is set, never its value), and problems found.
The live check asks the provider's token endpoint to redeem a code that cannot exist: a provider that
answers "bad code" has accepted our client credentials; "invalid client" or "redirect URI mismatch"
names the misconfiguration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tms_console.domain.errors import NotFound, ProviderError
from tms_console.domain.reasons import Reason
from tms_console.oauth import oauth2
from tms_console.providers.config import ResolvedProvider, default_redirect_uri, resolve
from tms_console.providers.registry import get_provider, hooks_for
from tms_console.providers.spec import ProviderSpec
from tms_console.settings import get_settings, provider_settings

PROBE_CODE = "tms-configuration-check"


@dataclass(frozen=True)
class EnvVar:
    name: str
    required: bool
    is_set: bool
    purpose: str


@dataclass(frozen=True)
class SetupInfo:
    key: str
    name: str
    install_kind: str
    stand_in: bool
    redirect_uri: str
    scopes: list[str]
    env: list[EnvVar]
    problems: list[str] = field(default_factory=list)
    docs_url: str = ""
    note: str = ""  # provider-specific guidance, e.g. how to verify a webhook signature


def _env_vars(spec: ProviderSpec) -> list[tuple[str, bool, str]]:
    prefix = spec.key.upper() + "_"
    names: list[tuple[str, bool, str]] = []
    if spec.uses_client_credentials:
        meta = spec.auth_mode == "embedded_signup"
        names += [
            (prefix + ("APP_ID" if meta else "CLIENT_ID"), True, "the app's client ID"),
            (prefix + ("APP_SECRET" if meta else "CLIENT_SECRET"), True, "the app's client secret"),
        ]
        if spec.authorize_settings:
            names += [
                (prefix + name.upper(), True, f"the {name}") for name in spec.authorize_settings.values()
            ]
        names += [
            (prefix + "REDIRECT_URI", False, "override of the redirect URI below"),
            (prefix + "AUTHORIZE_URL", False, "override of the authorize endpoint"),
        ]
    names.append((prefix + "API_BASE", False, "override of the API base URL"))
    if spec.graph_api_base:
        names.append((prefix + "GRAPH_API_BASE", False, "override of the second API host"))
    names += [(prefix + name, False, purpose) for name, purpose in spec.extra_env]
    return names


def _is_set(spec: ProviderSpec, name: str) -> bool:
    """Read through the same settings object the console uses (environment and `.env`)."""
    attribute = name.removeprefix(spec.key.upper() + "_").lower()
    return getattr(provider_settings(spec.key), attribute, None) not in (None, "")


def describe(integration_type: str) -> SetupInfo:
    spec = get_provider(integration_type)
    if spec is None or not spec.available:
        raise NotFound(Reason.NOT_FOUND, "unknown integration type")
    provider = resolve(spec)
    env = [EnvVar(name, req, _is_set(spec, name), purpose) for name, req, purpose in _env_vars(spec)]
    redirect = provider.redirect_uri if spec.install_kind != "form" else ""
    return SetupInfo(
        key=spec.key,
        name=spec.name,
        install_kind=spec.install_kind,
        stand_in=provider.stand_in,
        redirect_uri=redirect,
        scopes=list(spec.scopes),
        env=env,
        problems=_problems(spec, provider, env),
        docs_url=spec.docs_url,
        note=hooks_for(spec).setup_note(),
    )


def _problems(spec: ProviderSpec, provider: ResolvedProvider, env: list[EnvVar]) -> list[str]:
    settings = get_settings()
    problems: list[str] = []
    if spec.uses_client_credentials and not provider.stand_in:
        problems += [
            f"{var.name} is not set ({var.purpose})." for var in env if var.required and not var.is_set
        ]
    if spec.install_kind != "form":
        expected = default_redirect_uri(spec.key)
        if provider.redirect_uri != expected:
            problems.append(
                f"The redirect URI is overridden to {provider.redirect_uri}, but this console receives "
                f"callbacks at {expected}. They must be the same."
            )
        if settings.tms_env == "prod" and urlsplit(provider.redirect_uri).scheme != "https":
            problems.append("PUBLIC_BASE_URL must be https in production: providers refuse plain http.")
    for name, value in (("authorize URL", provider.authorize_url), ("API base", provider.api_base)):
        if value and urlsplit(value).scheme not in ("http", "https"):
            problems.append(f"The {name} ({value}) is not a URL.")
    return problems


async def live_check(integration_type: str) -> list[str]:
    """Problems the provider itself reports for our configuration; empty when it accepts it."""
    info = describe(integration_type)
    if info.problems:
        return info.problems
    spec = get_provider(integration_type)
    assert spec is not None
    if not spec.token_path:
        return []  # nothing to ask in advance (a pasted token is checked when it is pasted)
    provider = resolve(spec)
    try:
        status, body = await oauth2.exchange_code(
            provider, code="tms-configuration-check", code_verifier=None
        )
        oauth2.judge_token_response(hooks_for(spec), status, body)
    except ProviderError as exc:
        return _verdict(spec, exc.reason)
    return [f"{spec.name} redeemed a code that cannot exist. Check the API base URL."]


def _verdict(spec: ProviderSpec, reason: Reason) -> list[str]:
    name = spec.name
    if reason in (Reason.INVALID_GRANT, Reason.INVALID_REQUEST, Reason.PROVIDER_ERROR, Reason.MISSING_CODE):
        return []  # the code was refused, so the client credentials were accepted
    if reason is Reason.INVALID_CLIENT:
        return [f"{name} rejected the client ID or secret. Copy them again from the {name} app settings."]
    if reason is Reason.REDIRECT_URI_MISMATCH:
        return [f"{name} does not know this console's redirect URI. Register it exactly as shown."]
    if reason in (Reason.PROVIDER_UNAVAILABLE, Reason.RATE_LIMITED):
        return [f"{name} could not be reached (or is rate limiting). Check the network and the API base URL."]
    return [f"{name} answered the configuration check unexpectedly ({reason.value})."]
