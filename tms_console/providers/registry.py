"""Every provider the console knows. The only place that names providers (with hooks/)."""

from __future__ import annotations

from tms_console.providers.spec import ProviderSpec

DISCORD = ProviderSpec(
    key="discord",
    name="Discord",
    description="Post ticket updates to a Discord server channel through an incoming webhook.",
    auth_mode="oauth2",
    authorize_url="https://discord.com/oauth2/authorize",
    api_base="https://discord.com/api",
    token_path="/oauth2/token",
    revoke_path="/oauth2/token/revoke",
    scopes=("identify", "guilds", "bot", "webhook.incoming"),
    scope_separator=" ",
    client_auth="basic",
    # VIEW_CHANNEL + SEND_MESSAGES + EMBED_LINKS + READ_MESSAGE_HISTORY (PROVIDERS.md 1.2).
    authorize_params={"response_type": "code", "permissions": "84992", "prompt": "consent"},
    meta_fields={
        "guild_id": "webhook.guild_id",
        "channel_id": "webhook.channel_id",
        "webhook_id": "webhook.id",
        "webhook_name": "webhook.name",
        "application_id": "webhook.application_id",
        "scope": "scope",
    },
    secret_fields={
        "access_token": "access_token",
        "refresh_token": "refresh_token",
        "webhook_url": "webhook.url",
        "webhook_token": "webhook.token",
    },
    required_meta=("guild_id", "channel_id", "webhook_id"),
    refresh=True,
    trusted_domains=("discord.com", "discordapp.com"),
    secret_url_fields=("webhook_url",),
    docs_url="https://discord.com/developers/docs/topics/oauth2",
    sandbox_authorize_path="/sandbox/discord/oauth2/authorize",
    sandbox_api_path="/sandbox/discord/api",
    has_hooks=True,
)

SLACK = ProviderSpec(
    key="slack",
    name="Slack",
    description="Send ticket notifications to a Slack channel of your workspace.",
    auth_mode="oauth2",
    authorize_url="https://slack.com/oauth/v2/authorize",
    api_base="https://slack.com/api",
    token_path="/oauth.v2.access",
    revoke_path="/auth.revoke",
    scopes=("chat:write", "chat:write.public", "channels:read", "groups:read", "incoming-webhook"),
    scope_separator=",",
    client_auth="basic",
    meta_fields={
        "team_id": "team.id",
        "team_name": "team.name",
        "app_id": "app_id",
        "bot_user_id": "bot_user_id",
        "channel": "incoming_webhook.channel",
        "channel_id": "incoming_webhook.channel_id",
        "configuration_url": "incoming_webhook.configuration_url",
        "scope": "scope",
    },
    secret_fields={
        "access_token": "access_token",
        "refresh_token": "refresh_token",
        "webhook_url": "incoming_webhook.url",
    },
    required_meta=("team_id", "channel_id"),
    refresh=True,
    trusted_domains=("slack.com",),  # hooks.slack.com, <workspace>.slack.com
    secret_url_fields=("webhook_url",),
    display_url_fields=("configuration_url", "team_url"),
    docs_url="https://docs.slack.dev/authentication/installing-with-oauth",
    sandbox_authorize_path="/sandbox/slack/oauth/v2/authorize",
    sandbox_api_path="/sandbox/slack/api",
    has_hooks=True,
)


def _coming_soon(key: str, name: str, description: str, mode: str) -> ProviderSpec:
    return ProviderSpec(key=key, name=name, description=description, auth_mode=mode, available=False)  # type: ignore[arg-type]


PROVIDERS: dict[str, ProviderSpec] = {
    spec.key: spec
    for spec in (
        DISCORD,
        SLACK,
        _coming_soon("msteams", "Microsoft Teams", "Post ticket updates to a Teams channel.", "oauth2"),
        _coming_soon("google_chat", "Google Chat", "Notify a Google Chat space.", "oauth2"),
        _coming_soon("telegram", "Telegram", "Let a Telegram bot relay tickets to a chat.", "bot_token"),
        _coming_soon("whatsapp", "WhatsApp Business", "Reach customers on WhatsApp.", "embedded_signup"),
        _coming_soon("webhook", "Webhook", "Send signed ticket events to any HTTPS endpoint.", "webhook_url"),
    )
}


def get_provider(key: str) -> ProviderSpec | None:
    return PROVIDERS.get(key)
