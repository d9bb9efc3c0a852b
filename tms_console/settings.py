"""One typed settings object, read from the environment (or `.env`).

Outside development, missing or placeholder secrets refuse to start: a console that would encrypt
tokens under a key everyone knows, or accept JWTs signed with one, must not run.
"""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tms_console.security.keyring import Keyring

# Used only when TMS_ENV=dev and nothing else is set, so `reflex run` works on a laptop.
DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me-0123456789"
DEV_ENCRYPTION_KEYS = "dev:ZGV2LW9ubHktaW5zZWN1cmUtZW5jcnlwdGlvbi1rZXk="
PLACEHOLDERS = {"", "changethis", "change-me", "secret", DEV_JWT_SECRET, DEV_ENCRYPTION_KEYS}


class Settings(BaseSettings):
    """Process-wide configuration; see DESIGN.md "Configuration"."""

    # hide_input_in_errors: a validation error must not print the raw secrets it was given.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    tms_env: Literal["dev", "test", "prod"] = "dev"
    database_url: str | None = None
    redis_url: str | None = None
    public_base_url: str = "http://localhost:3000"
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_issuer: str = "tms"
    jwt_audience: str = "tms-console"
    token_encryption_keys: SecretStr | None = None
    tms_sandbox: bool = False
    # Where the built-in sandbox providers are reached (defaults to the console itself).
    sandbox_base_url: str | None = None
    # Planted in every secret the sandbox issues, so tests can grep for leaks.
    sandbox_canary: str = "sbx"
    oauth_state_ttl_seconds: int = 600
    provider_timeout_seconds: float = 10.0
    session_cookie_secure: bool = False
    log_level: str = "INFO"
    # Reverse proxies in front of the console that append to X-Forwarded-For (0: trust no header).
    trusted_proxy_count: int = 0
    # Per minute, per client IP and per signed-in user.
    callback_rate_limit: int = 30
    install_rate_limit: int = 20

    @field_validator("public_base_url", "sandbox_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _secrets_present(self) -> Settings:
        if self.tms_env == "dev":
            if self.jwt_secret is None and self.jwt_public_key is None:
                self.jwt_secret = SecretStr(DEV_JWT_SECRET)
            if self.token_encryption_keys is None:
                self.token_encryption_keys = SecretStr(DEV_ENCRYPTION_KEYS)
        else:
            if self.jwt_public_key is None and _is_placeholder(self.jwt_secret):
                raise ValueError("JWT_SECRET (or JWT_PUBLIC_KEY) must be set to a real secret")
            if _is_placeholder(self.token_encryption_keys):
                raise ValueError("TOKEN_ENCRYPTION_KEYS must be set (kid:base64 of 32 bytes)")
            if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
                raise ValueError("JWT_SECRET must be at least 32 characters")
        # Refuses a malformed key list now rather than at the first install.
        self.keyring()
        return self

    def keyring(self) -> Keyring:
        assert self.token_encryption_keys is not None
        return Keyring.parse(self.token_encryption_keys.get_secret_value())

    @property
    def sandbox_url(self) -> str:
        return self.sandbox_base_url or self.public_base_url


def _is_placeholder(value: SecretStr | None) -> bool:
    return value is None or value.get_secret_value().strip().lower() in PLACEHOLDERS


class ProviderSettings(BaseSettings):
    """`<P>_CLIENT_ID`, `<P>_CLIENT_SECRET`, ... for one provider (prefix given at creation)."""

    # hide_input_in_errors: a validation error must not print the raw secrets it was given.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    client_id: str | None = None
    client_secret: SecretStr | None = None
    # Meta's names for the same two (WHATSAPP_APP_ID / WHATSAPP_APP_SECRET).
    app_id: str | None = None
    app_secret: SecretStr | None = None
    config_id: str | None = None  # WhatsApp Embedded Signup configuration
    bot_token: SecretStr | None = None
    redirect_uri: str | None = None
    authorize_url: str | None = None
    api_base: str | None = None
    graph_api_base: str | None = None


@functools.cache
def get_settings() -> Settings:
    return Settings()


@functools.cache
def provider_settings(key: str) -> ProviderSettings:
    return ProviderSettings(_env_prefix=f"{key.upper()}_")  # type: ignore[call-arg]


def clear_settings_cache() -> None:
    """For tests and the dev server, after changing the environment."""
    get_settings.cache_clear()
    provider_settings.cache_clear()
