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
        assert spec.api_base.startswith("https://")
        assert set(spec.meta_fields).isdisjoint(spec.secret_fields)
        assert set(spec.required_meta) <= set(spec.meta_fields)
        if spec.install_kind in ("redirect", "popup"):
            assert spec.authorize_url.startswith("https://") and spec.scopes
        if spec.install_kind == "redirect":
            assert spec.token_path.startswith("/")
        else:  # form and popup kinds connect through their hook, from declared fields
            assert spec.form_fields and hooks is not None and hasattr(hooks, "connect")
            assert len({f.name for f in spec.form_fields}) == len(spec.form_fields)
        if spec.target_label:
            assert hooks is not None and hasattr(hooks, "list_targets")
        if spec.graph_api_base:
            assert spec.graph_api_base.startswith("https://")


def test_discord_scopes_fix_from_seed() -> None:
    assert PROVIDERS["discord"].scopes == ("identify", "guilds", "bot", "webhook.incoming")
    assert "incoming-webhook" in PROVIDERS["slack"].scopes and "chat:write" in PROVIDERS["slack"].scopes
    assert PROVIDERS["slack"].scope_separator == ","
