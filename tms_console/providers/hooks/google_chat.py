"""Google Chat (Google OAuth 2.0 with PKCE; PROVIDERS.md §4).

The Google account comes from the ID token (`email`); after install the agent picks a space from
`spaces.list` (named spaces only, followed page by page through `nextPageToken`).
"""

from __future__ import annotations

from typing import Any

from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks, ProviderHttp
from tms_console.domain.messages import RenderedMessage
from tms_console.domain.values import Meta, Secrets, Target
from tms_console.providers.hooks._jwt_claims import unverified_claims
from tms_console.providers.render.google_chat import render as render_google_chat

MAX_PAGES = 20


class GoogleChatHooks(ProviderHooks):
    renders_events = True

    def render_event(self, event: TicketEvent, meta: Meta, *, template: str = "") -> RenderedMessage:
        return render_google_chat(event)

    async def after_install(self, api: ProviderHttp, token: dict[str, Any], meta: Meta) -> None:
        claims = unverified_claims(token.get("id_token"))
        meta["account_name"] = str(claims.get("email") or claims.get("name") or "")
        meta["domain"] = str(claims.get("hd") or "")

    async def list_targets(self, api: ProviderHttp, bundle: Secrets, meta: Meta) -> list[Target]:
        token = str(bundle.get("access_token", ""))
        params = {"pageSize": "100", "filter": 'spaceType = "SPACE"'}
        targets: list[Target] = []
        for _ in range(MAX_PAGES):
            body = await api.call("GET", "/spaces", bearer=token, params=params, graph=True)
            for space in body.get("spaces") or []:
                if isinstance(space, dict) and space.get("name"):
                    targets.append(
                        Target(id=str(space["name"]), name=str(space.get("displayName") or space["name"]))
                    )
            page_token = body.get("nextPageToken")
            if not isinstance(page_token, str) or not page_token:
                break
            params = params | {"pageToken": page_token}
        return targets
