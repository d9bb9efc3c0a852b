"""Microsoft Teams sandbox, Graph side: /me, joinedTeams, channels, revokeSignInSessions
(PROVIDERS.md §3.6-3.7, §3.10); channel messages and replies are in `msteams_messages`.

Served under `/sandbox/msteams/graph/v1.0`. Errors use Graph's `{"error": {"code", "message",
"innerError"}}` body; lists page with an absolute `@odata.nextLink` once they exceed PAGE_SIZE.
"""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox import faults
from sandbox import msteams_fixtures as world
from sandbox.msteams_tokens import session_key
from sandbox.store import JsonDict, SandboxStore
from sandbox.web import (
    Rejected,
    auth_token,
    base_url,
    guarded,
    json_response,
    query_values,
)

if TYPE_CHECKING:
    from sandbox import SandboxApp

METADATA = "https://graph.microsoft.com/v1.0/$metadata"
PAGE_SIZE = 4  # small on purpose: the Customer Support team's channels span two pages
CREATED = "2024-01-15T09:00:00Z"  # fixed, so fixture objects look the same on every run
ME_SCOPES = ("User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
TEAM_SCOPES = ("Team.ReadBasic.All", "TeamSettings.Read.All", "Directory.Read.All")
CHANNEL_SCOPES = ("Channel.ReadBasic.All", "ChannelSettings.Read.All", "Group.Read.All", "Directory.Read.All")
SEND_SCOPES = ("ChannelMessage.Send", "Group.ReadWrite.All")
REVOKE_SCOPES = ("User.RevokeSessions.All", "User.ReadWrite.All", "Directory.AccessAsUser.All")
LIST_OPTIONS = ("$select", "$skiptoken")
NO_RESOURCE = (
    "Resource '{user_id}' does not exist or one of its queried reference-property objects are not present."
)
# 401s carry the challenge Graph sends with them.
CHALLENGE = {
    "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
    'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
}


def graph_error(status_code: int, code: str, message: str) -> Response:
    """Graph's error body (PROVIDERS.md §3.10 shows the same envelope for 429)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    inner = {"date": now, "request-id": str(uuid.uuid4()), "client-request-id": str(uuid.uuid4())}
    body = {"error": {"code": code, "message": message, "innerError": inner}}
    headers = CHALLENGE if status_code == 401 else None
    response = json_response(body, status_code)
    response.headers.update(headers or {})
    return response


def _bad_request(message: str) -> Rejected:
    return Rejected(graph_error(400, "BadRequest", message))


def team_object(tenant: world.Tenant, team: world.Team) -> JsonDict:
    """An entry of `/me/joinedTeams`: only id, displayName and description are populated (§3.6)."""
    nulls = ("createdDateTime", "internalId", "classification", "specialization", "visibility", "webUrl")
    body: JsonDict = {"id": team.id, "displayName": team.display_name, "description": team.description}
    body |= dict.fromkeys(nulls)
    return body | {"isArchived": False, "tenantId": tenant.id, "isMembershipLimitedToOwners": None}


def channel_object(tenant: world.Tenant, team: world.Team, channel: world.Channel) -> JsonDict:
    """An entry of `/teams/{id}/channels`."""
    link = f"https://teams.microsoft.com/l/channel/{quote(channel.id)}/{quote(channel.display_name)}"
    return {
        "id": channel.id,
        "createdDateTime": CREATED,
        "displayName": channel.display_name,
        "description": channel.description,
        "isFavoriteByDefault": None,
        "email": "",
        "tenantId": tenant.id,
        "webUrl": f"{link}?groupId={team.id}&tenantId={tenant.id}",
        "membershipType": channel.membership_type,
        "isArchived": False,
    }


class GraphApi:
    """Delegated Graph endpoints of the sandbox tenants."""

    def __init__(self, app: SandboxApp, store: SandboxStore) -> None:
        self.app = app
        self.store = store

    def add_routes(self, router: APIRouter) -> None:
        """Register the Graph routes (the router's prefix is `/sandbox/msteams`)."""
        base = "/graph/v1.0"
        routes = (
            ("/me", self.me, "GET"),
            ("/me/joinedTeams", self.joined_teams, "GET"),
            ("/teams/{team_id}/channels", self.channels, "GET"),
            ("/teams/{team_id}/channels/{channel_id}", self.channel, "GET"),
        )
        for path, handler, method in routes:
            wrapped = faults.with_faults(self.store, "msteams", "api", handler)
            router.add_api_route(base + path, wrapped, methods=[method])
        router.add_api_route(f"{base}/me/revokeSignInSessions", self.revoke_my_sessions, methods=["POST"])
        revoke = f"{base}/users/{{user_id}}/revokeSignInSessions"
        router.add_api_route(revoke, self.revoke_sessions, methods=["POST"])

    @guarded
    async def me(self, request: Request) -> Response:
        """GET /me: the signed-in user."""
        tenant, _ = await self.authed(request, ME_SCOPES, directory=True)
        user = tenant.user
        return json_response(
            {
                "@odata.context": f"{METADATA}#users/$entity",
                "businessPhones": [],
                "displayName": user.display_name,
                "givenName": user.given_name,
                "jobTitle": user.job_title,
                "mail": user.upn,
                "mobilePhone": None,
                "officeLocation": None,
                "preferredLanguage": "en-US",
                "surname": user.surname,
                "userPrincipalName": user.upn,
                "id": user.oid,
            }
        )

    @guarded
    async def joined_teams(self, request: Request) -> Response:
        """GET /me/joinedTeams."""
        tenant, _ = await self.authed(request, TEAM_SCOPES)
        teams = [team_object(tenant, t) for t in tenant.teams if t.joined]
        return _page(request, teams, f"{METADATA}#teams", "team")

    @guarded
    async def channels(self, request: Request, team_id: str) -> Response:
        """GET /teams/{team_id}/channels."""
        tenant, _ = await self.authed(request, CHANNEL_SCOPES)
        team = joined_team(tenant, team_id)
        listed = [channel_object(tenant, team, c) for c in team.channels]
        return _page(request, listed, f"{METADATA}#teams('{team.id}')/channels", "channel")

    @guarded
    async def channel(self, request: Request, team_id: str, channel_id: str) -> Response:
        """GET /teams/{team_id}/channels/{channel_id}: one channel of a joined team."""
        tenant, _ = await self.authed(request, CHANNEL_SCOPES)
        team = joined_team(tenant, team_id)
        found = [c for c in team.channels if c.id == channel_id]
        if not found:
            raise Rejected(graph_error(404, "NotFound", f"Channel {channel_id} not found in team."))
        context = f"{METADATA}#teams('{team.id}')/channels/$entity"
        return json_response({"@odata.context": context} | channel_object(tenant, team, found[0]))

    @guarded
    async def revoke_my_sessions(self, request: Request) -> Response:
        """POST /me/revokeSignInSessions."""
        tenant, record = await self.authed(request, REVOKE_SCOPES, directory=True)
        return await self._revoke(tenant, record["oid"])

    @guarded
    async def revoke_sessions(self, request: Request, user_id: str) -> Response:
        """POST /users/{id | userPrincipalName}/revokeSignInSessions (§3.7): kills every refresh token."""
        tenant, _ = await self.authed(request, REVOKE_SCOPES, directory=True)
        if user_id.lower() not in (tenant.user.oid, tenant.user.upn):
            message = NO_RESOURCE.format(user_id=user_id)
            raise Rejected(graph_error(404, "Request_ResourceNotFound", message))
        return await self._revoke(tenant, tenant.user.oid)

    async def _revoke(self, tenant: world.Tenant, oid: str) -> Response:
        # Refresh tokens issued before this moment die; access tokens live on until they expire.
        key = session_key(tenant.id, oid)
        await self.store.incr(key)
        await self.store.put("sessions_valid_from", key, {"at": datetime.now(UTC).isoformat()})
        await self.store.incr("revocations")
        return json_response({"@odata.context": f"{METADATA}#Edm.Boolean", "value": True})

    async def authed(
        self, request: Request, scopes: tuple[str, ...], directory: bool = False
    ) -> tuple[world.Tenant, JsonDict]:
        token = auth_token(request, "Bearer")
        if token is None:
            raise Rejected(graph_error(401, "InvalidAuthenticationToken", "Access token is empty."))
        record = await self.store.get_secret("access", token)
        if record is None:
            message = "IDX14100: JWT is not well formed, or the token is unknown to this tenant."
            raise Rejected(graph_error(401, "InvalidAuthenticationToken", message))
        if record["exp"] <= time.time():
            message = "Lifetime validation failed, the token is expired."
            raise Rejected(graph_error(401, "InvalidAuthenticationToken", message))
        if not set(scopes) & set(record["scopes"]):
            raise Rejected(_forbidden(scopes, record["scopes"], directory))
        tenant = world.tenant(record["tenant_id"])
        assert tenant is not None  # tokens are only issued for fixture tenants
        return tenant, record


def _forbidden(needed: tuple[str, ...], present: list[str], directory: bool) -> Response:
    if directory:  # directory (user) endpoints answer in Azure AD Graph's words
        message = "Insufficient privileges to complete the operation."
        return graph_error(403, "Authorization_RequestDenied", message)
    message = (
        f"Missing scope permissions on the request. API requires one of '{', '.join(needed)}'. "
        f"Scopes on the request '{' '.join(present)}'"
    )
    return graph_error(403, "Forbidden", message)


def joined_team(tenant: world.Tenant, team_id: str) -> world.Team:
    team = tenant.team(team_id.lower())
    if team is None:
        raise Rejected(graph_error(404, "NotFound", f"No team found with Group Id {team_id}"))
    if not team.joined:
        raise Rejected(graph_error(403, "Forbidden", "User is not a member of this team."))
    return team


def _page(request: Request, items: list[JsonDict], context: str, kind: str) -> Response:
    options = query_values(request)
    if options is None:
        raise _bad_request("Query option specified more than once.")
    for name in options:
        if name.startswith("$") and name not in LIST_OPTIONS:
            raise _bad_request(f"Query option '{name}' is not supported by the sandbox.")
    start = _skip(options.get("$skiptoken"), request.url.path)
    selected = [_select(item, options.get("$select"), kind) for item in items[start : start + PAGE_SIZE]]
    body: JsonDict = {"@odata.context": context}
    if start + PAGE_SIZE < len(items):
        query = {k: v for k, v in options.items() if k == "$select"}
        query["$skiptoken"] = _skiptoken(start + PAGE_SIZE, request.url.path)
        body["@odata.nextLink"] = f"{base_url(request)}{request.url.path}?{urlencode(query, safe='$,')}"
    return json_response(body | {"value": selected})


def _skiptoken(offset: int, path: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}|{path}".encode()).decode()


def _skip(token: str | None, path: str) -> int:
    if token is None:
        return 0
    try:
        offset, _, bound_path = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
    except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII input
        raise _bad_request("Invalid $skiptoken.") from None
    if not offset.isdigit() or bound_path != path:
        raise _bad_request("Invalid $skiptoken.")
    return int(offset)


def _select(item: JsonDict, select: str | None, kind: str) -> JsonDict:
    if select is None:
        return item
    fields = [name.strip() for name in select.split(",") if name.strip()]
    for name in fields:
        if name not in item:
            raise _bad_request(f"Could not find a property named '{name}' on type 'microsoft.graph.{kind}'.")
    return {name: item[name] for name in fields}
