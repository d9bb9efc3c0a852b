"""Google Chat (Google OAuth 2.0 with PKCE; PROVIDERS.md §4).

The Google account comes from the ID token (`email`); after install the agent picks a space from
`spaces.list` (named spaces only, followed page by page through `nextPageToken`).
"""

from __future__ import annotations

import re
from typing import Any

from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks, ProviderHttp
from tms_console.domain.messages import Outcome, RenderedMessage, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.values import Meta, Secrets, Target
from tms_console.providers.hooks._jwt_claims import unverified_claims
from tms_console.providers.hooks._send import Answer, attempt, delivered, missing_target, probed, result
from tms_console.providers.render.google_chat import notice as render_google_chat_notice
from tms_console.providers.render.google_chat import render as render_google_chat

MAX_PAGES = 20
SPACE = re.compile(r"^spaces/[A-Za-z0-9_-]{1,100}$")
# Chat on a space probe: the grant is refused, the user left the space, the space is gone.
_REFUSALS = {401: "access_revoked", 403: "no_access", 404: "space_not_found"}


class GoogleChatHooks(ProviderHooks):
    renders_events = True
    sends_notices = True
    probes = True

    def render_event(self, event: TicketEvent, meta: Meta, *, template: str = "") -> RenderedMessage:
        return render_google_chat(event)

    def render_notice(self, text: str) -> RenderedMessage:
        return render_google_chat_notice(text)

    async def send_message(
        self,
        api: ProviderHttp,
        bundle: Secrets,
        meta: Meta,
        message: RenderedMessage,
        *,
        thread_handle: str = "",
    ) -> SendResult:
        """`spaces.messages.create` in the chosen space. The thread key in the body keeps a ticket's
        messages together, so no handle is needed (`thread_handle` is ignored)."""
        space = str(meta.get("target_id") or "")
        if not SPACE.match(space):
            return missing_target("space")
        token = str(bundle.get("access_token") or "")
        # Chat refuses cards on requests with a user's credentials (only a Chat app may post them), and
        # this install posts as the user: the renderer's `text` is what that user's message shows.
        payload = {key: value for key, value in dict(message.payload).items() if key != "cardsV2"}
        params = dict(message.query)
        answer = await attempt(
            api, "POST", f"/{space}/messages", bearer=token, json=payload, params=params, graph=True
        )
        if isinstance(answer, SendResult):
            return answer
        if answer.status < 300 and isinstance(answer.body, dict):
            return delivered(answer)
        return _judge_failure(answer)

    async def probe(self, api: ProviderHttp, bundle: Secrets, meta: Meta) -> SendResult | None:
        """`spaces.get` on the chosen space with the (refreshed) user token."""
        space = str(meta.get("target_id") or "")
        if not SPACE.match(space):
            return None
        answer = await attempt(
            api, "GET", f"/{space}", bearer=str(bundle.get("access_token") or ""), graph=True
        )
        return answer if isinstance(answer, SendResult) else probed(answer, _REFUSALS)

    async def after_install(self, api: ProviderHttp, token: dict[str, Any], meta: Meta) -> None:
        claims = unverified_claims(token.get("id_token"))
        meta["account_name"] = str(claims.get("email") or claims.get("name") or "")
        meta["domain"] = str(claims.get("hd") or "")
        meta["account_id"] = str(claims.get("sub") or "")  # the Google account, stable across email changes

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


def _judge_failure(answer: Answer) -> SendResult:
    """401/403: the grant is gone or the user left the space; 404: the space is gone; other 4xx are final."""
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    status = str(error.get("status") or "") if isinstance(error, dict) else ""
    reason = status.lower() or f"http_{answer.status}"
    if answer.status in (401, 403, 404):
        return result(Outcome.AUTH_FAILED, answer, reason)
    if answer.status < 300:
        return result(Outcome.RETRY, answer, Reason.BAD_RESPONSE.value)
    return result(Outcome.REJECTED, answer, reason)
