"""Identity pieces of the Teams sandbox: scopes, AADSTS errors and tokens (PROVIDERS.md §3.4-3.5).

Tokens are JWT-shaped like Entra's, so a console that reads `tid`/`oid` from them works as it would for
real; their signature segment is random and carries the canary, and the sandbox knows them only by
digest. AADSTS numbers other than 50011 and 65001 are recalled from Entra's error reference, not from
PROVIDERS.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi.responses import Response

from sandbox import msteams_fixtures as world
from sandbox.store import JsonDict, SandboxStore
from sandbox.web import json_response

if TYPE_CHECKING:
    from sandbox import SandboxApp

GRAPH = "https://graph.microsoft.com/"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Graph's audience in access tokens
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
GRAPH_SCOPES = (
    "User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "User.RevokeSessions.All",
    "Team.ReadBasic.All", "TeamSettings.Read.All", "Channel.ReadBasic.All", "ChannelSettings.Read.All",
    "ChannelMessage.Send", "ChannelMessage.Read.All", "Group.Read.All", "Group.ReadWrite.All",
    "Directory.Read.All", "Directory.AccessAsUser.All",
)  # fmt: skip
# Only a tenant admin may consent to these (PROVIDERS.md §0: ChannelMessage.Read.All needs admin consent).
ADMIN_ONLY_SCOPES = frozenset(
    {
        "User.Read.All", "User.ReadWrite.All", "User.RevokeSessions.All", "TeamSettings.Read.All",
        "ChannelMessage.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All",
        "Directory.AccessAsUser.All",
    }
)  # fmt: skip
# What `https://graph.microsoft.com/.default` means: the sandbox app registration's configured permissions.
APP_PERMISSIONS = ("User.Read", "Team.ReadBasic.All", "Channel.ReadBasic.All", "ChannelMessage.Send")
_CANONICAL = {scope.lower(): scope for scope in GRAPH_SCOPES}

ACCESS_TTL = 3599
EXPIRED_MEMORY = 86400  # expired access tokens answer "expired", not "malformed", for a day
REFRESH_TTL = 90 * 86400
ID_TOKEN_TTL = 3600


@dataclass(frozen=True)
class Scopes:
    """A parsed `scope` parameter: OpenID Connect scopes and Graph permissions (canonical short names)."""

    oidc: tuple[str, ...]
    graph: tuple[str, ...]


class InvalidScope(ValueError):
    """A scope the sandbox's Entra does not know."""


def parse_scopes(value: str) -> Scopes:
    """Space-separated scopes, short or `https://graph.microsoft.com/...` form, case-insensitive.

    Raises:
        InvalidScope: naming the first scope that does not exist.
    """
    oidc: list[str] = []
    graph: list[str] = []
    for scope in value.split():
        lowered = scope.lower()
        if lowered in OIDC_SCOPES:
            oidc.append(lowered)
            continue
        short = lowered.removeprefix(GRAPH)
        names = APP_PERMISSIONS if short == ".default" else (_CANONICAL.get(short),)
        if None in names:
            raise InvalidScope(scope)
        graph.extend(name for name in names if name)
    return Scopes(tuple(dict.fromkeys(oidc)), tuple(dict.fromkeys(graph)))


def describe(code: int, message: str) -> str:
    """An Entra `error_description`: the AADSTS text plus trace, correlation id and timestamp lines."""
    trace, correlation, stamp = str(uuid.uuid4()), str(uuid.uuid4()), _stamp()
    return f"AADSTS{code}: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\n" + (
        f"Timestamp: {stamp}"
    )


def aad_error(error: str, code: int, message: str, status_code: int = 400) -> Response:
    """The token endpoint's error JSON (PROVIDERS.md §3.4), ids matching those inside the description."""
    description = describe(code, message)
    trace, correlation = (line.split(": ", 1)[1] for line in description.split("\r\n")[1:3])
    body = {
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": _stamp(),
        "trace_id": trace,
        "correlation_id": correlation,
    }
    return json_response(body, status_code, no_store=True)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _segment(data: JsonDict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def session_key(tenant_id: str, oid: str) -> str:
    """The counter that `revokeSignInSessions` bumps; refresh tokens of an older generation are dead."""
    return f"sessions:{tenant_id}:{oid}"


class TokenIssuer:
    """Mints access, refresh and ID tokens for a grant and remembers them by digest."""

    def __init__(self, app: SandboxApp, store: SandboxStore, canary: str) -> None:
        self.app = app
        self.store = store
        self.canary = canary

    async def issue(self, grant: JsonDict) -> JsonDict:
        """The token response body for a grant (tenant, user, scopes, nonce), in Entra's key order."""
        tenant = world.tenant(grant["tenant_id"])
        assert tenant is not None  # grants are only made for fixture tenants
        now = int(time.time())
        body: JsonDict = {
            "token_type": "Bearer",
            "scope": " ".join(GRAPH + scope for scope in grant["graph"]),
            "expires_in": ACCESS_TTL,
            "ext_expires_in": ACCESS_TTL,
            "access_token": await self._access_token(tenant, grant, now),
        }
        if "offline_access" in grant["oidc"]:
            body["refresh_token"] = await self._refresh_token(grant)
        if "openid" in grant["oidc"]:
            claims = _id_claims(self.app, tenant, grant, now)
            body["id_token"] = self._jwt({"typ": "JWT", "alg": "RS256", "kid": "sandbox"}, claims)
        return body

    async def _access_token(self, tenant: world.Tenant, grant: JsonDict, now: int) -> str:
        claims = {
            "aud": GRAPH_APP_ID,
            "iss": f"https://sts.windows.net/{tenant.id}/",
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TTL,
            "app_displayname": self.app.name,
            "appid": self.app.client_id,
            "name": tenant.user.display_name,
            "oid": tenant.user.oid,
            "scp": " ".join(grant["graph"]),
            "sub": _pairwise(self.app.client_id, tenant.user.oid),
            "tid": tenant.id,
            "upn": tenant.user.upn,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        # Graph puts a nonce in the header, which is why clients cannot validate its tokens themselves.
        token = self._jwt({"typ": "JWT", "nonce": secrets.token_urlsafe(32), "alg": "RS256"}, claims)
        record: JsonDict = {"client_id": self.app.client_id, "tenant_id": tenant.id, "oid": tenant.user.oid}
        record |= {"scopes": list(grant["graph"]), "exp": now + ACCESS_TTL}
        await self.store.put_secret("access", token, record, ACCESS_TTL + EXPIRED_MEMORY)
        return token

    async def _refresh_token(self, grant: JsonDict) -> str:
        token = f"0.{self.canary}.{secrets.token_urlsafe(48)}"
        generation = await self.store.count(session_key(grant["tenant_id"], grant["oid"]))
        record = {key: grant[key] for key in ("client_id", "tenant_id", "oid", "oidc", "graph")}
        record |= {"generation": generation, "issued": _stamp()}
        await self.store.put_secret("refresh", token, record, REFRESH_TTL)
        return token

    def _jwt(self, header: JsonDict, claims: JsonDict) -> str:
        signature = self.canary + secrets.token_urlsafe(32)
        return f"{_segment(header)}.{_segment(claims)}.{signature}"


def _pairwise(client_id: str, oid: str) -> str:
    # `sub` differs per app for the same user (id-token claims reference).
    digest = hashlib.sha256(f"{client_id}:{oid}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _id_claims(app: SandboxApp, tenant: world.Tenant, grant: JsonDict, now: int) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "aud": app.client_id,
        "iss": f"https://login.microsoftonline.com/{tenant.id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + ID_TOKEN_TTL,
        "sub": _pairwise(app.client_id, tenant.user.oid),
        "tid": tenant.id,
        "uti": secrets.token_urlsafe(16),
        "ver": "2.0",
    }
    if grant.get("nonce"):
        claims["nonce"] = grant["nonce"]
    if "profile" in grant["oidc"]:  # name, preferred_username and oid need `profile` (claims reference)
        user = tenant.user
        claims |= {"name": user.display_name, "oid": user.oid, "preferred_username": user.upn}
    if "email" in grant["oidc"]:
        claims["email"] = tenant.user.upn
    return claims
