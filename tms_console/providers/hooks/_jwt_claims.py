"""Claims of an ID token received straight from the provider's token endpoint.

OpenID Connect Core §3.1.3.7: a token obtained directly from the token endpoint over TLS may be
trusted without checking its signature; we read names from it, never authorization.
"""

from __future__ import annotations

import base64
import json
from typing import Any


def unverified_claims(token: object) -> dict[str, Any]:
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16384:
        return {}
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}
