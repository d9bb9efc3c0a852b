"""Every provider the console knows. The only place that names providers (with hooks/)."""

from __future__ import annotations

from tms_console.domain.events import EVENT_TYPES
from tms_console.domain.hooks import NO_HOOKS, ProviderHooks
from tms_console.providers.hooks.discord import DiscordHooks
from tms_console.providers.hooks.google_chat import GoogleChatHooks
from tms_console.providers.hooks.msteams import MicrosoftTeamsHooks
from tms_console.providers.hooks.slack import SlackHooks
from tms_console.providers.hooks.telegram import TelegramHooks
from tms_console.providers.hooks.webhook import WebhookHooks
from tms_console.providers.hooks.whatsapp import WhatsAppHooks
from tms_console.providers.ready_made import READY_MADE
from tms_console.providers.spec import FormField, ProviderSpec

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
    account_key="guild_id",
    extra_env=(("BOT_TOKEN", "the bot token (names the webhook's channel)"),),
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
    account_key="team_id",
)


MSTEAMS = ProviderSpec(
    key="msteams",
    name="Microsoft Teams",
    description="Post ticket updates to a channel of a Microsoft Teams team.",
    auth_mode="oauth2",
    authorize_url="https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
    api_base="https://login.microsoftonline.com/organizations/oauth2/v2.0",
    token_path="/token",
    # `profile` puts the user's name in the ID token; `offline_access` gives the refresh token.
    scopes=(
        "openid",
        "profile",
        "offline_access",
        "User.Read",
        "Team.ReadBasic.All",
        "Channel.ReadBasic.All",
        "ChannelMessage.Send",
    ),
    scope_separator=" ",
    pkce=True,
    client_auth="body",  # what MSAL does (PROVIDERS.md 3.4)
    authorize_params={"response_type": "code", "response_mode": "query", "prompt": "select_account"},
    meta_fields={"scope": "scope"},
    secret_fields={"access_token": "access_token", "refresh_token": "refresh_token"},
    refresh=True,
    refresh_when_idle=True,  # 90 days unused (PROVIDERS.md §3.5)
    trusted_domains=("microsoft.com", "office.com", "microsoftonline.com"),
    graph_api_base="https://graph.microsoft.com/v1.0",
    target_label="Channel",
    target_hint="Join a team in Teams (or create a channel), then look again.",
    admin_consent_path="/v2.0/adminconsent",
    docs_url="https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow",
    account_key="tenant_id",
    kept_meta=("target_id", "target_name", "team_id", "ms_team_name", "channel_id"),
)

GOOGLE_CHAT = ProviderSpec(
    key="google_chat",
    name="Google Chat",
    description="Send ticket notifications to a Google Chat space.",
    auth_mode="oauth2",
    authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
    api_base="https://oauth2.googleapis.com",
    token_path="/token",
    revoke_path="/revoke",
    # openid + email name the connected Google account; the two Chat scopes are the integration's.
    scopes=(
        "openid",
        "email",
        "https://www.googleapis.com/auth/chat.spaces.readonly",
        "https://www.googleapis.com/auth/chat.messages.create",
    ),
    scope_separator=" ",
    pkce=True,
    client_auth="body",
    authorize_params={
        "response_type": "code",
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
    },
    meta_fields={"scope": "scope"},
    secret_fields={"access_token": "access_token", "refresh_token": "refresh_token"},
    refresh=True,
    refresh_when_idle=True,  # ~6 months unused (PROVIDERS.md §4.4)
    trusted_domains=("google.com", "googleapis.com"),
    graph_api_base="https://chat.googleapis.com/v1",
    target_label="Space",
    target_hint="Create a space in Google Chat (or get added to one), then look again.",
    docs_url="https://developers.google.com/workspace/chat/authenticate-authorize-chat-user",
    account_key="account_id",
    kept_meta=("target_id", "target_name"),
    # Google's revoke ends the user's whole grant to the app, the reconnect's new tokens with it.
    revoke_same_account=False,
)

TELEGRAM = ProviderSpec(
    key="telegram",
    name="Telegram",
    description="Let your Telegram bot post ticket updates to a group or channel it was added to.",
    auth_mode="bot_token",
    api_base="https://api.telegram.org",
    form_fields=(
        FormField(
            "bot_token",
            "Bot token",
            "secret",
            help="Create a bot with @BotFather (/newbot) and paste the token it gives you.",
            max_length=100,
        ),
    ),
    target_label="Chat",
    target_hint="Add the bot to a group or channel (as an admin, for channels), then look again.",
    trusted_domains=("telegram.org",),
    docs_url="https://core.telegram.org/bots/api",
    account_key="bot_id",
    kept_meta=("target_id", "target_name", "chats"),
    revoke_same_account=False,  # deleteWebhook on the same bot would undo the reconnect's setWebhook
)


WHATSAPP = ProviderSpec(
    key="whatsapp",
    name="WhatsApp Business",
    description="Reach customers on WhatsApp from your business phone number.",
    auth_mode="embedded_signup",
    authorize_url="https://www.facebook.com/v21.0/dialog/oauth",
    api_base="https://graph.facebook.com/v21.0",
    # Permissions come from the Login for Business configuration (config_id), not from `scope`.
    scopes=("whatsapp_business_management", "whatsapp_business_messaging"),
    scope_separator=",",
    authorize_params={"response_type": "code", "override_default_response_type": "true"},
    authorize_settings={"config_id": "config_id"},
    popup_message_type="WA_EMBEDDED_SIGNUP",
    form_fields=(
        FormField("code", "Authorization code", "secret", max_length=1024),
        FormField("waba_id", "WhatsApp Business Account", max_length=30),
        FormField("phone_number_id", "Phone number", max_length=30),
        FormField("business_id", "Business", required=False, max_length=30),
        FormField(
            "recipient",
            "Recipient number",
            required=False,
            max_length=32,
            help="Who receives ticket updates: an international number, e.g. +15551234567. "
            "Can be entered on the card after connecting.",
        ),
    ),
    # The recipient is typed (WhatsApp has no list of recipients to pick from): see WhatsAppHooks.
    target_label="Recipient",
    target_hint="Enter the phone number that receives ticket updates, with its country code.",
    trusted_domains=("facebook.com", "whatsapp.com"),
    docs_url="https://developers.facebook.com/docs/whatsapp/embedded-signup",
    account_key="waba_id",
    kept_meta=("target_id", "target_name", "recipient"),
    revoke_same_account=False,  # unsubscribing the same WABA would detach the reconnect too
)


WEBHOOK = ProviderSpec(
    key="webhook",
    name="Webhook",
    description="Send signed ticket events to any HTTPS endpoint, as is or through your own template.",
    auth_mode="webhook_url",
    api_base="https://example.invalid",  # no provider API: deliveries go to the agent's URL
    form_fields=(
        FormField(
            "url", "Endpoint URL", "url", help="HTTPS. Every event is POSTed there, signed.", max_length=2048
        ),
        FormField("events", "Events", "choices", choices=EVENT_TYPES),
        FormField(
            "template",
            "Payload template (optional)",
            "template",
            required=False,
            help="Jinja; every {{ value }} becomes JSON. Empty: the event as is.",
            max_length=20_000,
            choices=tuple(READY_MADE),
        ),
    ),
)


PROVIDERS: dict[str, ProviderSpec] = {
    spec.key: spec
    for spec in (
        DISCORD,
        SLACK,
        MSTEAMS,
        GOOGLE_CHAT,
        TELEGRAM,
        WHATSAPP,
        WEBHOOK,
    )
}


# Each provider's quirks; a provider missing here has none (the contract's defaults).
HOOKS: dict[str, ProviderHooks] = {
    DISCORD.key: DiscordHooks(),
    SLACK.key: SlackHooks(),
    MSTEAMS.key: MicrosoftTeamsHooks(),
    GOOGLE_CHAT.key: GoogleChatHooks(),
    TELEGRAM.key: TelegramHooks(),
    WHATSAPP.key: WhatsAppHooks(),
    WEBHOOK.key: WebhookHooks(),
}


def get_provider(key: str) -> ProviderSpec | None:
    return PROVIDERS.get(key)


def hooks_for(spec: ProviderSpec) -> ProviderHooks:
    """The provider's hooks object: its quirks, or the defaults of the hook contract."""
    return HOOKS.get(spec.key, NO_HOOKS)
