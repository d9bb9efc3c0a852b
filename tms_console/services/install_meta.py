"""What an installation keeps from a provider's answers: the spec's meta and secret fields, and its meta
cleaned to bounded plain text (provider URLs only on the provider's own domain)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tms_console.domain.errors import ProviderError
from tms_console.domain.reasons import Reason
from tms_console.domain.values import Installation
from tms_console.providers.config import ResolvedProvider
from tms_console.providers.spec import dig

MAX_META_TEXT = 200
MAX_META_ITEMS = 100


def installation_from_token(provider: ResolvedProvider, token: dict[str, Any]) -> Installation:
    """The spec's meta and secret fields picked out of a token response, and when it expires."""
    spec = provider.spec
    install = Installation(
        meta={name: dig(token, path) for name, path in spec.meta_fields.items()},
        secrets={name: dig(token, path) for name, path in spec.secret_fields.items()},
    )
    install.meta = {k: v for k, v in install.meta.items() if v not in (None, "")}
    install.secrets = {k: v for k, v in install.secrets.items() if isinstance(v, str) and v}
    expires_in = token.get("expires_in")
    if isinstance(expires_in, int) and 0 < expires_in < 10 * 365 * 86400:
        install.expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
    return install


def clean_meta(provider: ResolvedProvider, install: Installation) -> dict[str, Any]:
    """What may be stored and shown: bounded plain text, and provider URLs only on the provider's domain.

    A secret URL the console would call that is not the provider's own fails the install.
    """
    install.meta = {k: clean_value(v) for k, v in install.meta.items()}
    _check_urls(provider, install)
    return install.meta


# NUL (Postgres JSONB refuses it), C0/C1 controls, bidi overrides/isolates (they make a name read
# differently from what it is) and lone surrogates (not encodable, so not storable).
_UNSAFE_CHARS = dict.fromkeys(
    [*range(0x20), *range(0x7F, 0xA0), 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
_UNSAFE_CHARS |= dict.fromkeys(range(0xD800, 0xE000))


def clean_value(value: object, depth: int = 0) -> Any:
    """Provider text goes to `meta` as bounded plain strings, without invisible or unsafe characters
    (lists and objects, such as the chats a bot was added to, are cleaned item by item, bounded)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list) and depth < 3:
        return [clean_value(item, depth + 1) for item in value[:MAX_META_ITEMS]]
    if isinstance(value, dict) and depth < 3:
        return {
            clean_value(k, depth + 1): clean_value(v, depth + 1)
            for k, v in list(value.items())[:MAX_META_ITEMS]
        }
    return str(value).translate(_UNSAFE_CHARS)[:MAX_META_TEXT]


def _check_urls(provider: ResolvedProvider, install: Installation) -> None:
    """A secret URL the console would call must be the provider's own (else nothing is saved);
    a display URL that is not is dropped."""
    spec, trusted = provider.spec, provider.trusts_url
    if any(name in install.secrets and not trusted(install.secrets[name]) for name in spec.secret_url_fields):
        raise ProviderError(Reason.BAD_RESPONSE, "provider sent a URL outside its own domain")
    for name in spec.display_url_fields:
        if name in install.meta and not trusted(install.meta[name]):
            del install.meta[name]
