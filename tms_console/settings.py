"""One typed settings object, read from the environment (or `.env`).

Production is what runs when nothing says otherwise: an unset `TMS_ENV` is `prod`. Production refuses
to start on configuration that is only fit for development or tests (placeholder secrets, the local
stand-in providers of `TMS_SANDBOX`, the demo login, provider endpoints on loopback or private
addresses), each with one line naming the variable. `load_settings()` turns those refusals into a
clean exit for every entry point (the console, the API alone, the CLI).
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import sys
from typing import Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tms_console.domain.keys import parse_key_spec

ENV_FILE = ".env"
PLACEHOLDERS = {"", "changethis", "change-me", "changeme", "secret", "dev", "test"}
# Provider endpoint settings (`<P>_AUTHORIZE_URL`, `<P>_API_BASE`, `<P>_GRAPH_API_BASE`): matched by
# suffix, so a provider added to the registry is covered without being named here.
PROVIDER_URL_SUFFIXES = ("_AUTHORIZE_URL", "_API_BASE", "_GRAPH_API_BASE")
# Keys that authenticate the calls providers send us (`SLACK_SIGNING_SECRET`, `WHATSAPP_VERIFY_TOKEN`,
# `DISCORD_PUBLIC_KEY`), matched by suffix like the URLs.
INBOUND_SECRET_SUFFIXES = ("_SIGNING_SECRET", "_VERIFY_TOKEN")
INBOUND_KEY_SUFFIX = "_PUBLIC_KEY"
MIN_INBOUND_SECRET = 16


class Settings(BaseSettings):
    """Process-wide configuration; see DESIGN.md "Configuration"."""

    # hide_input_in_errors: a validation error must not print the raw secrets it was given.
    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", hide_input_in_errors=True)

    tms_env: Literal["dev", "test", "prod"] = "prod"
    database_url: str | None = None
    redis_url: str | None = None
    public_base_url: str = "http://localhost:3000"
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_issuer: str = "tms"
    jwt_audience: str = "tms-console"
    token_encryption_keys: SecretStr | None = None
    # TMS_SANDBOX=1 (dev and test): local stand-ins play the providers, all served from the one origin
    # SANDBOX_BASE_URL. The console reaches them through the ordinary provider URL settings; the only
    # thing this switch changes in the product is that this one origin is allowed for outgoing calls
    # and provider-supplied URLs (see `dev_origin`), and that the cards say so.
    stand_ins: bool = Field(default=False, validation_alias="TMS_SANDBOX")
    stand_in_base_url: str | None = Field(default=None, validation_alias="SANDBOX_BASE_URL")
    # DEMO_LOGIN=1 (dev and test): the /login page lists the seeded users and signs in as any of them.
    demo_login: bool = False
    oauth_state_ttl_seconds: int = 600
    provider_timeout_seconds: float = 10.0
    session_cookie_secure: bool = False
    log_level: str = "INFO"
    # json: one JSON object per line (production's default); text: plain lines (dev and test's default).
    log_format: Literal["json", "text"] | None = None
    # GET /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it answers 404.
    metrics_token: SecretStr | None = None
    # The worker serves its own /metrics on this port (unset: not at all), on this address.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_host: str = "127.0.0.1"
    # Reverse proxies in front of the console that append to X-Forwarded-For (0: trust no header).
    trusted_proxy_count: int = 0
    # Per minute, per client IP and per signed-in user.
    callback_rate_limit: int = 30
    install_rate_limit: int = 20
    # Test only (refused in production): the intake holds its transaction open this long just before
    # committing, so a fault test can kill the process between storing an event and committing it.
    intake_commit_pause_seconds: float = 0.0
    # Every delay of the delivery retry schedule is multiplied by this (tests compress it, e.g. 0.001).
    retry_schedule_scale: float = Field(default=1.0, gt=0)
    # A job whose worker sent no heartbeat for this long is run again (its worker died: kill -9, power).
    worker_stalled_seconds: float = Field(default=30.0, gt=0)
    # Days the delivery log keeps settled events, their deliveries and attempts (a periodic job deletes
    # older ones; never under a day, which the intake's idempotency needs).
    delivery_log_days: int = Field(default=30, ge=1)
    # The queue of a first install's display-only details (`install_details` jobs). Tests give each console
    # server its own, so that a worker takes the jobs of the server it runs beside (and asks its sandbox).
    installs_queue: str = Field(default="installs", pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    # Each integration's provider is asked at most once per this many minutes whether it still works
    # (tests compress it, e.g. 0.05); skipped while its deliveries succeed.
    health_check_minutes: float = Field(default=60.0, gt=0)
    # How often the scheduler defers the checks and refreshes due next (a divisor of 60).
    health_schedule_seconds: int = Field(default=60, ge=1, le=60)
    # Health calls (checks and proactive refreshes) per second to any one provider, all workers together.
    health_rate_per_second: int = Field(default=20, ge=1)

    @field_validator("health_schedule_seconds")
    @classmethod
    def _divides_a_minute(cls, value: int) -> int:
        if 60 % value:
            raise ValueError(
                "HEALTH_SCHEDULE_SECONDS must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60)"
            )
        return value

    @field_validator("public_base_url", "stand_in_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        problems = _secret_problems(self)
        if self.tms_env == "prod":
            problems += _production_problems(self)
        elif self.stand_ins and not self.stand_in_base_url:
            problems.append("SANDBOX_BASE_URL must be set when TMS_SANDBOX=1 (the stand-ins' origin)")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def dev_origin(self) -> str | None:
        """The one origin outside the production rules (the stand-in providers), or None.

        Never set in production: `TMS_SANDBOX=1` is refused there.
        """
        if not self.stand_ins or not self.stand_in_base_url or self.tms_env == "prod":
            return None
        parts = urlsplit(self.stand_in_base_url)
        return f"{parts.scheme}://{parts.netloc}".lower()


def _secret_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    strict = settings.tms_env == "prod"
    if settings.jwt_public_key is None and _missing(settings.jwt_secret, strict=strict):
        problems.append("JWT_SECRET (or JWT_PUBLIC_KEY) must be set to a real secret")
    elif strict and settings.jwt_secret is not None and len(settings.jwt_secret.get_secret_value()) < 32:
        problems.append("JWT_SECRET must be at least 32 characters")
    if _missing(settings.token_encryption_keys, strict=strict):
        problems.append("TOKEN_ENCRYPTION_KEYS must be set (kid:base64 of 32 bytes, comma-separated)")
    else:
        assert settings.token_encryption_keys is not None
        try:
            parse_key_spec(settings.token_encryption_keys.get_secret_value())
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def _production_problems(settings: Settings) -> list[str]:
    problems = []
    if settings.stand_ins:
        problems.append(
            "TMS_SANDBOX=1 is refused in production (TMS_ENV=prod): the stand-ins are for dev and test"
        )
    if settings.demo_login:
        problems.append("DEMO_LOGIN=1 is refused in production (TMS_ENV=prod): it signs in as anyone")
    if settings.intake_commit_pause_seconds:
        problems.append("INTAKE_COMMIT_PAUSE_SECONDS is refused in production (TMS_ENV=prod): a test hook")
    problems += _metrics_problems(settings)
    for name, url in sorted(_provider_urls().items()):
        reason = _local_address(url)
        if reason:
            problems.append(f"{name} points at {reason} ({url}); production calls only public provider hosts")
    return problems + _inbound_key_problems()


def _inbound_key_problems() -> list[str]:
    """Placeholder or malformed keys for provider calls: a forger could sign with a guessable one."""
    problems = []
    for name, value in sorted(_provider_env(INBOUND_SECRET_SUFFIXES).items()):
        value = value.strip()
        if value.lower() in PLACEHOLDERS or len(value) < MIN_INBOUND_SECRET:
            problems.append(
                f"{name} must be the provider's real secret (at least {MIN_INBOUND_SECRET} characters)"
            )
    for name, value in sorted(_provider_env((INBOUND_KEY_SUFFIX,)).items()):
        if not re.fullmatch(r"[0-9a-fA-F]{64}", value.strip()):
            problems.append(f"{name} must be the app's Ed25519 public key (64 hex digits)")
    return problems


def _metrics_problems(settings: Settings) -> list[str]:
    token = settings.metrics_token
    if token is not None and (_missing(token, strict=True) or len(token.get_secret_value()) < 16):
        return ["METRICS_TOKEN must be a real secret of at least 16 characters (or unset: no /metrics)"]
    if settings.worker_metrics_port and token is None and not _loopback(settings.worker_metrics_host):
        return [
            "WORKER_METRICS_HOST other than loopback needs METRICS_TOKEN (the worker's /metrics is public)"
        ]
    return []


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _missing(value: SecretStr | None, *, strict: bool) -> bool:
    if value is None or not value.get_secret_value().strip():
        return True
    return strict and value.get_secret_value().strip().lower() in PLACEHOLDERS


def _provider_urls() -> dict[str, str]:
    """Every provider endpoint setting, from `.env` and the environment (the environment wins)."""
    found = _provider_env((*PROVIDER_URL_SUFFIXES, "SANDBOX_BASE_URL"))
    return {k: v for k, v in found.items() if k.endswith(PROVIDER_URL_SUFFIXES) or k == "SANDBOX_BASE_URL"}


def _provider_env(suffixes: tuple[str, ...]) -> dict[str, str]:
    """Settings whose names end in one of `suffixes`, from `.env` and the environment (which wins)."""
    found = {k.upper(): v for k, v in dotenv_values(ENV_FILE).items() if v}
    found |= {k.upper(): v for k, v in os.environ.items() if v}
    return {k: v for k, v in found.items() if k.endswith(suffixes)}


def _local_address(url: str) -> str | None:
    """Why `url` is not a public https endpoint (a phrase), or None."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return "an unparsable URL"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None  # a host name
    if address is not None and not address.is_global:
        return "a loopback, private or link-local address"
    if address is None and (host.endswith((".localhost", ".local", ".internal")) or "." not in host):
        return "a local host name"
    return "a plain-http URL" if parts.scheme != "https" else None


class ProviderSettings(BaseSettings):
    """`<P>_CLIENT_ID`, `<P>_CLIENT_SECRET`, ... for one provider (prefix given at creation)."""

    # hide_input_in_errors: a validation error must not print the raw secrets it was given.
    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", hide_input_in_errors=True)

    client_id: str | None = None
    client_secret: SecretStr | None = None
    # Meta's names for the same two (WHATSAPP_APP_ID / WHATSAPP_APP_SECRET).
    app_id: str | None = None
    app_secret: SecretStr | None = None
    config_id: str | None = None  # WhatsApp Embedded Signup configuration
    bot_token: SecretStr | None = None
    # Keys for the calls the provider sends us: Slack's signing secret, Discord's app public key (hex),
    # Meta's webhook verify token (its signatures use the app secret above).
    signing_secret: SecretStr | None = None
    public_key: str | None = None
    verify_token: SecretStr | None = None
    redirect_uri: str | None = None
    authorize_url: str | None = None
    api_base: str | None = None
    graph_api_base: str | None = None


def refusals(error: ValidationError) -> list[str]:
    """The validators' own sentences, one per problem; never the input (it may hold secrets)."""
    lines: list[str] = []
    for item in error.errors():
        message = str(item["msg"]).removeprefix("Value error, ")
        where = ".".join(str(part) for part in item["loc"])
        lines += [f"{where.upper()}: {message}" if where else message for message in message.splitlines()]
    return lines


@functools.cache
def get_settings() -> Settings:
    return Settings()


def load_settings() -> Settings:
    """`get_settings()` for entry points: a refused configuration ends the process, one line per problem."""
    try:
        return get_settings()
    except ValidationError as exc:
        lines = [f"tms-console: configuration refused: {line}" for line in refusals(exc)]
        print("\n".join(lines), file=sys.stderr, flush=True)
        raise SystemExit(2) from None


@functools.cache
def provider_settings(key: str) -> ProviderSettings:
    return ProviderSettings(_env_prefix=f"{key.upper()}_")  # type: ignore[call-arg]


def clear_settings_cache() -> None:
    """For tests and the dev server, after changing the environment."""
    get_settings.cache_clear()
    provider_settings.cache_clear()
