"""Microsoft Teams (identity platform v2 + Graph; PROVIDERS.md §3).

The tenant and the signed-in user come from the ID token (`tid`, `name`); after install the agent
picks a channel among the teams the user joined (Graph pages with absolute `@odata.nextLink`s, which
are followed only on the Graph host we were configured with).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from tms_console.domain.errors import ProviderError
from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks, ProviderHttp
from tms_console.domain.messages import Outcome, RenderedMessage, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.values import Meta, Secrets, Target
from tms_console.providers.hooks._jwt_claims import unverified_claims
from tms_console.providers.hooks._send import Answer, attempt, delivered, missing_target, probed, result
from tms_console.providers.render.msteams import notice as render_teams_notice
from tms_console.providers.render.msteams import render as render_teams

MAX_PAGES = 20
# Graph on a channel probe: the token is refused, the user lost access to the team, the channel is gone.
_REFUSALS = {401: "access_revoked", 403: "no_access", 404: "channel_not_found"}


async def _pages(api: ProviderHttp, path: str, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    next_path: str | None = path
    for _ in range(MAX_PAGES):
        if next_path is None:
            break
        body = await api.call("GET", next_path, bearer=token, graph=True)
        items += [item for item in body.get("value") or [] if isinstance(item, dict)]
        next_path = _relative(api, body.get("@odata.nextLink"))
    return items


def _relative(api: ProviderHttp, link: object) -> str | None:
    """A nextLink as a path under our Graph base, or None (also for links to any other host)."""
    base = api.graph_base
    if not isinstance(link, str) or not link.startswith(base + "/"):
        return None
    parts = urlsplit(link[len(base) :])
    return parts.path + (f"?{parts.query}" if parts.query else "")


class MicrosoftTeamsHooks(ProviderHooks):
    renders_events = True
    sends_notices = True
    probes = True

    def render_event(self, event: TicketEvent, meta: Meta, *, template: str = "") -> RenderedMessage:
        return render_teams(event)

    def render_notice(self, text: str) -> RenderedMessage:
        return render_teams_notice(text)

    async def send_message(
        self,
        api: ProviderHttp,
        bundle: Secrets,
        meta: Meta,
        message: RenderedMessage,
        *,
        thread_handle: str = "",
    ) -> SendResult:
        """Graph channel message (or a reply to the ticket's first) with the delegated token.

        An expired token is refreshed by the caller (services/tokens) before this; a 401 here is final.
        """
        team, channel = str(meta.get("team_id") or ""), str(meta.get("channel_id") or "")
        if not team or not channel:
            return missing_target("channel")
        path = f"/teams/{quote(team, safe='')}/channels/{quote(channel, safe='')}/messages"
        if thread_handle:
            path += f"/{quote(thread_handle, safe='')}/replies"
        token = str(bundle.get("access_token") or "")
        answer = await attempt(api, "POST", path, bearer=token, json=message.payload, graph=True)
        if isinstance(answer, SendResult):
            return answer
        if answer.status < 300 and isinstance(answer.body, dict):
            return delivered(answer, "" if thread_handle else str(answer.body.get("id") or ""))
        return _judge_failure(answer, replying=bool(thread_handle))

    async def probe(self, api: ProviderHttp, bundle: Secrets, meta: Meta) -> SendResult | None:
        """Graph `GET /teams/{team}/channels/{channel}` with the (refreshed) delegated token."""
        team, channel = str(meta.get("team_id") or ""), str(meta.get("channel_id") or "")
        if not team or not channel:
            return None
        path = f"/teams/{quote(team, safe='')}/channels/{quote(channel, safe='')}"
        answer = await attempt(api, "GET", path, bearer=str(bundle.get("access_token") or ""), graph=True)
        return answer if isinstance(answer, SendResult) else probed(answer, _REFUSALS)

    async def after_install(self, api: ProviderHttp, token: dict[str, Any], meta: Meta) -> None:
        claims = unverified_claims(token.get("id_token")) or unverified_claims(token.get("access_token"))
        tenant = claims.get("tid")
        if not isinstance(tenant, str) or not tenant:
            raise ProviderError(Reason.BAD_RESPONSE, "no tenant id (tid) in the token response")
        meta["tenant_id"] = tenant
        meta["user_id"] = str(claims.get("oid") or "")
        meta["account_name"] = str(claims.get("name") or claims.get("preferred_username") or tenant)

    async def list_targets(self, api: ProviderHttp, bundle: Secrets, meta: Meta) -> list[Target]:
        token = str(bundle.get("access_token", ""))
        targets: list[Target] = []
        for team in await _pages(api, "/me/joinedTeams", token):
            team_id, team_name = str(team.get("id", "")), str(team.get("displayName") or "")
            if not team_id:
                continue
            for channel in await _pages(api, f"/teams/{quote(team_id, safe='')}/channels", token):
                channel_id = str(channel.get("id", ""))
                if channel_id:
                    targets.append(
                        Target(
                            id=f"{team_id}/{channel_id}",
                            name=str(channel.get("displayName") or channel_id),
                            group=team_name,
                            extra={"team_id": team_id, "ms_team_name": team_name, "channel_id": channel_id},
                        )
                    )
        return targets


def _judge_failure(answer: Answer, *, replying: bool) -> SendResult:
    """401 (token rejected), 403 (no longer a member) and 404 (channel gone) need a reconnect; a 404 on
    a reply only means the ticket's first message was deleted."""
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    code = str(error.get("code") or "") if isinstance(error, dict) else ""
    reason = code or f"http_{answer.status}"
    if answer.status in (401, 403) or (answer.status == 404 and not replying):
        return result(Outcome.AUTH_FAILED, answer, reason)
    if answer.status < 300:  # 2xx without a message object: not Graph's answer
        return result(Outcome.RETRY, answer, Reason.BAD_RESPONSE.value)
    return result(Outcome.REJECTED, answer, reason)
