"""A provider spec joined with this deployment's settings: credentials, endpoints, sandbox."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from tms_console.providers.spec import ProviderSpec, is_trusted_url
from tms_console.sandbox.discord_api import sandbox_bot_token
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

    @property
    def configured(self) -> bool:
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
    use_sandbox = settings.tms_sandbox and not env.client_id and bool(spec.sandbox_api_path)
    client_id, client_secret, bot_token = env.client_id, env.client_secret, env.bot_token
    authorize_url = env.authorize_url or spec.authorize_url
    api_base = env.api_base or spec.api_base
    if use_sandbox:
        client_id, secret = sandbox_credentials(spec.key)
        client_secret = SecretStr(secret)
        bot_token = SecretStr(sandbox_bot_token(settings.sandbox_canary))
        authorize_url = env.authorize_url or settings.sandbox_url + spec.sandbox_authorize_path
        api_base = env.api_base or settings.sandbox_url + spec.sandbox_api_path
    return ResolvedProvider(
        spec=spec,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=env.redirect_uri or default_redirect_uri(spec.key),
        authorize_url=authorize_url,
        api_base=api_base.rstrip("/"),
        sandbox=use_sandbox,
        bot_token=bot_token,
    )
