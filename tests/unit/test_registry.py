import re
from pathlib import Path

from tms_console.providers.hooks import load_hooks
from tms_console.providers.registry import PROVIDERS

ASSETS = Path(__file__).resolve().parents[2] / "assets"
SEED_KEYS = {"discord", "slack", "msteams", "google_chat", "telegram", "whatsapp", "webhook"}


def test_keys_unique_url_safe_and_complete() -> None:
    assert set(PROVIDERS) == SEED_KEYS
    for key, spec in PROVIDERS.items():
        assert spec.key == key and re.fullmatch(r"[a-z0-9_]{1,50}", key)


def test_every_spec_is_valid() -> None:
    for spec in PROVIDERS.values():
        assert (ASSETS / spec.logo.lstrip("/")).is_file(), spec.key
        assert spec.name and spec.description
        hooks = load_hooks(spec)
        assert (hooks is not None) == spec.has_hooks
        if not spec.available:
            continue
        assert spec.authorize_url.startswith("https://") and spec.api_base.startswith("https://")
        assert spec.token_path.startswith("/") and spec.scopes
        assert set(spec.meta_fields).isdisjoint(spec.secret_fields)
        assert set(spec.required_meta) <= set(spec.meta_fields)
        assert spec.sandbox_authorize_path.startswith("/sandbox/")


def test_discord_scopes_fix_from_seed() -> None:
    assert PROVIDERS["discord"].scopes == ("identify", "guilds", "bot", "webhook.incoming")
    assert "incoming-webhook" in PROVIDERS["slack"].scopes and "chat:write" in PROVIDERS["slack"].scopes
    assert PROVIDERS["slack"].scope_separator == ","
