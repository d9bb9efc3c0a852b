"""Pages where a developer watches messages arrive in the sandbox channels.

`GET /sandbox/channels` lists every channel that received a message, `GET /sandbox/<provider>/channels`
those of one provider, and `GET /sandbox/<provider>/channels/<id>` shows one channel as its platform lays
it out: threads grouped under their first message, cards with their fields. The pages reload themselves
every 2 s (a `Refresh` header: no JavaScript) and escape everything they show.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from html import escape
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from sandbox.inbox import Inbox, threads
from sandbox.message_layout import message_html
from sandbox.pages import error_page, html_page

REFRESH_SECONDS = 2
STYLE = """<style>
main{max-width:52rem}.message{border-top:1px solid #e5e7eb;padding:.6rem 0}
.thread{border-left:3px solid #c7d2fe;margin:.5rem 0 1rem;padding-left:.75rem}
.replies{margin-left:1.5rem}.meta{font-size:.8rem;color:#6b7280}.text{white-space:pre-wrap}
.card{border:1px solid #d1d5db;border-left:4px solid #4f46e5;border-radius:.4rem;
padding:.5rem .75rem;margin:.4rem 0}.card h3{font-size:1rem;margin:0}.subtitle{color:#6b7280;margin:.1rem 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem .75rem}
dt{font-weight:600}dd{margin:0}.mention{background:#fef3c7;color:#92400e;border-radius:.2rem;padding:0 .2rem}
.notifies{color:#b91c1c;font-size:.85rem}.dead{text-decoration:line-through;color:#6b7280}
</style>"""


def add_routes(router: APIRouter, inboxes: Mapping[str, Inbox]) -> None:
    """Register the index page and, per provider, its channel list and channel pages."""
    router.add_api_route("/sandbox/channels", _index(inboxes), methods=["GET"])
    for provider, inbox in inboxes.items():
        single = {provider: inbox}
        router.add_api_route(f"/sandbox/{provider}/channels", _index(single), methods=["GET"])
        path = f"/sandbox/{provider}/channels/{{channel_id:path}}"
        router.add_api_route(path, _channel(provider, inbox), methods=["GET"])


def _index(inboxes: Mapping[str, Inbox]) -> Callable[[], Awaitable[Response]]:
    async def index() -> Response:
        """Every channel that received a message, per provider."""
        sections = [await _provider_section(provider, inbox) for provider, inbox in inboxes.items()]
        body = "".join(sections) or "<p>No channel has received a message yet.</p>"
        return _page("Sandbox channels", f"<h1>Sandbox channels</h1>{body}")

    return index


async def _provider_section(provider: str, inbox: Inbox) -> str:
    channels = await inbox.channels()
    if not channels:
        return ""
    items = []
    for ident, name in sorted(channels.items(), key=lambda item: item[1]):
        count = len(await inbox.messages(ident))
        href = f"/sandbox/{quote(provider)}/channels/{quote(ident, safe='')}"
        items.append(f'<li><a href="{escape(href)}">{escape(name)}</a> ({count} messages)</li>')
    return f'<h2>{escape(provider)}</h2><ul class="channels">{"".join(items)}</ul>'


def _channel(provider: str, inbox: Inbox) -> Callable[[str], Awaitable[Response]]:
    async def channel(channel_id: str) -> Response:
        """One channel's messages, threads grouped, newest thread last."""
        name = (await inbox.channels()).get(channel_id)
        if name is None:
            return error_page("Unknown channel", "No message has arrived in this channel.", 404)
        groups = "".join(_thread_html(group) for group in threads(await inbox.messages(channel_id)))
        title = f"{provider} {name}"
        back = f'<p><a href="/sandbox/{escape(quote(provider))}/channels">All {escape(provider)} channels'
        back += "</a></p>"
        return _page(title, f"{back}<h1>{escape(name)}</h1><p class='meta'>{escape(provider)}</p>{groups}")

    return channel


def _thread_html(group: list[dict[str, object]]) -> str:
    first, replies = group[0], group[1:]
    nested = "".join(message_html(reply) for reply in replies)
    thread = f'<div class="replies">{nested}</div>' if replies else ""
    return f'<div class="thread">{message_html(first)}{thread}</div>'


def _page(title: str, body: str) -> HTMLResponse:
    response = html_page(title, STYLE + body)
    response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response
