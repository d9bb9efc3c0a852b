"""A provider spec joined with this deployment's settings: credentials and endpoints.

Every endpoint comes from the spec or its `<P>_AUTHORIZE_URL` / `<P>_API_BASE` / `<P>_GRAPH_API_BASE`
override; nothing here knows what answers at those addresses. In dev and test the overrides point at
local stand-ins (one origin, `Settings.dev_origin`), which is the only origin outside the provider's
own https domains that the console will call or link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import SecretStr

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
    stand_in: bool  # played by a local stand-in (dev and test only; see Settings.dev_origin)
    bot_token: SecretStr | None = None
    graph_api_base: str = ""
    settings: dict[str, str] = field(default_factory=dict)  # non-secret extras, e.g. config_id
    # What authenticates the provider's calls to us: signing_secret, public_key, app_secret, verify_token.
    inbound_keys: dict[str, SecretStr] = field(default_factory=dict, repr=False)

    @property
    def configured(self) -> bool:
        if not self.spec.uses_client_credentials:
            return self.spec.available
        return bool(self.spec.available and self.client_id and self.client_secret)

    def trusts_url(self, url: object) -> bool:
        """May the console call or link this provider-supplied URL? The provider's own https domains;
        for a stand-in, exactly the dev origin instead."""
        origin = get_settings().dev_origin
        if self.stand_in and origin:
            return is_trusted_url(url, origin=origin)
        return is_trusted_url(url, domains=self.spec.trusted_domains)


def default_redirect_uri(key: str) -> str:
    return f"{get_settings().public_base_url}/api/public/integrations/{key}/callback"


def resolve(spec: ProviderSpec) -> ResolvedProvider:
    """The spec with this deployment's credentials and endpoint overrides."""
    env = provider_settings(spec.key)
    authorize_url = env.authorize_url or spec.authorize_url
    api_base = (env.api_base or spec.api_base).rstrip("/")
    return ResolvedProvider(
        spec=spec,
        client_id=env.client_id or env.app_id,
        client_secret=env.client_secret or env.app_secret,
        redirect_uri=env.redirect_uri or default_redirect_uri(spec.key),
        authorize_url=authorize_url,
        api_base=api_base,
        stand_in=_on_dev_origin(authorize_url or api_base),
        bot_token=env.bot_token,
        graph_api_base=(env.graph_api_base or spec.graph_api_base).rstrip("/"),
        settings={"config_id": env.config_id or ""},
        inbound_keys=_inbound_keys(spec.key),
    )


def _inbound_keys(key: str) -> dict[str, SecretStr]:
    env = provider_settings(key)
    keys = {
        "signing_secret": env.signing_secret,
        "public_key": SecretStr(env.public_key) if env.public_key else None,
        "app_secret": env.app_secret or env.client_secret,  # Meta signs its webhooks with the app secret
        "verify_token": env.verify_token,
    }
    return {name: value for name, value in keys.items() if value is not None and value.get_secret_value()}


def _on_dev_origin(url: str) -> bool:
    origin = get_settings().dev_origin
    if not origin or not url:
        return False
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() == origin
