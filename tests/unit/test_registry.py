import re
from pathlib import Path

from tms_console.domain.hooks import NO_HOOKS, ProviderHooks
from tms_console.providers.registry import HOOKS, PROVIDERS, hooks_for

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
        hooks = hooks_for(spec)
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
            assert spec.form_fields and _overrides(hooks, "connect"), spec.key
            assert len({f.name for f in spec.form_fields}) == len(spec.form_fields)
        if spec.target_label:  # a target is picked from the provider's list, or typed and checked
            assert _overrides(hooks, "list_targets") or hooks.enters_target, spec.key
        if spec.graph_api_base:
            assert spec.graph_api_base.startswith("https://")


def _overrides(hooks: ProviderHooks, name: str) -> bool:
    return getattr(type(hooks), name) is not getattr(ProviderHooks, name)


def test_capability_flags_match_the_hooks_implemented() -> None:
    """A flag the services read is set exactly when the hook it announces is implemented."""
    assert set(HOOKS) <= set(PROVIDERS) and hooks_for(PROVIDERS["discord"]) is not NO_HOOKS
    for key, hooks in HOOKS.items():
        assert isinstance(hooks, ProviderHooks)
        assert hooks.judges_token_response == _overrides(hooks, "check_token_response"), key
        assert hooks.revokes == _overrides(hooks, "revoke"), key
        assert hooks.enters_target == _overrides(hooks, "entered_target"), key
        assert hooks.receives_inbound == (
            _overrides(hooks, "read_inbound") and _overrides(hooks, "on_inbound")
        )
        assert hooks.receives_events == _overrides(hooks, "read_event"), key
        assert bool(hooks.ready_made) == _overrides(hooks, "preview"), key
        assert hooks.renders_events == _overrides(hooks, "render_event"), key


def test_discord_scopes_fix_from_seed() -> None:
    assert PROVIDERS["discord"].scopes == ("identify", "guilds", "bot", "webhook.incoming")
    assert "incoming-webhook" in PROVIDERS["slack"].scopes and "chat:write" in PROVIDERS["slack"].scopes
    assert PROVIDERS["slack"].scope_separator == ","
