"""A provider spec joined with this deployment's settings: credentials, endpoints, sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr

from sandbox.discord_api import sandbox_bot_token
from sandbox.whatsapp_fixtures import CONFIG_ID as SANDBOX_CONFIG_ID
from tms_console.providers.spec import ProviderSpec, is_trusted_url
from tms_console.settings import get_settings, provider_settings


@dataclass(frozen=True)
class ResolvedProvider:
    spec: ProviderSpec
    client_id: str | None
    client_secret: SecretStr | None
    redirect_uri: str
    authorize_url: str
    api_base: str
    sandbox: bool
    bot_token: SecretStr | None = None
    graph_api_base: str = ""
    settings: dict[str, str] = field(default_factory=dict)  # non-secret extras, e.g. config_id

    @property
    def configured(self) -> bool:
        if not self.spec.uses_client_credentials:
            return self.spec.available
        return bool(self.spec.available and self.client_id and self.client_secret)

    def trusts_url(self, url: object) -> bool:
        """May the console call or link this provider-supplied URL? The provider's own https domains;
        for the built-in sandbox, the sandbox's own origin instead."""
        if self.sandbox:
            return is_trusted_url(url, origin=get_settings().sandbox_url)
        return is_trusted_url(url, domains=self.spec.trusted_domains)


def sandbox_credentials(key: str) -> tuple[str, str]:
    """The sandbox app's client id and secret (dev and tests only)."""
    return f"sandbox-{key}-client", f"sandbox-{key}-secret"


def default_redirect_uri(key: str) -> str:
    return f"{get_settings().public_base_url}/api/public/integrations/{key}/callback"


def resolve(spec: ProviderSpec) -> ResolvedProvider:
    """Real credentials when set; the built-in sandbox when TMS_SANDBOX=1 and none are set."""
    settings = get_settings()
    env = provider_settings(spec.key)
    client_id = env.client_id or env.app_id
    client_secret, bot_token = env.client_secret or env.app_secret, env.bot_token
    use_sandbox = settings.tms_sandbox and not client_id and bool(spec.sandbox_api_path)
    authorize_url = env.authorize_url or spec.authorize_url
    api_base = env.api_base or spec.api_base
    graph_api_base = env.graph_api_base or spec.graph_api_base
    extras = {"config_id": env.config_id or ""}
    if use_sandbox:
        client_id, secret = sandbox_credentials(spec.key)
        client_secret = SecretStr(secret)
        bot_token = SecretStr(sandbox_bot_token(settings.sandbox_canary))
        base = settings.sandbox_url
        authorize_url = env.authorize_url or base + spec.sandbox_authorize_path
        api_base = env.api_base or base + spec.sandbox_api_path
        if spec.sandbox_graph_path:
            graph_api_base = env.graph_api_base or base + spec.sandbox_graph_path
        extras["config_id"] = extras["config_id"] or SANDBOX_CONFIG_ID
    return ResolvedProvider(
        spec=spec,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=env.redirect_uri or default_redirect_uri(spec.key),
        authorize_url=authorize_url,
        api_base=api_base.rstrip("/"),
        sandbox=use_sandbox,
        bot_token=bot_token,
        graph_api_base=graph_api_base.rstrip("/"),
        settings=extras,
    )
