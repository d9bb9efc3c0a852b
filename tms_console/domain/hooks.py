"""The typed contract between the services and a provider's quirks (what the spec data cannot express).

`ProviderHooks` lists every hook a provider may implement, each with a default. A provider without
quirks uses it as is; one with quirks subclasses it and overrides what it needs. Where a service
must know whether a hook replaces the generic behaviour (RFC 6749 token handling, RFC 7009
revocation) or is offered at all (ticket events, a typed target, provider calls coming in), it reads
a capability flag, never probes for a method. A test message needs no hook of its own: the services
send a sample event through `render_event` and `send_message`, exactly as a delivery does. Hooks
receive `ProviderHttp`, a narrow facade over the provider's API hosts, and plain values: never the
database or the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from tms_console.domain.errors import NotFound
from tms_console.domain.events import TicketEvent
from tms_console.domain.inbound import InboundRefused, Reply, Verified
from tms_console.domain.messages import RenderedMessage, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.values import ConnectContext, Installation, Meta, Secrets, Target


class ProviderHttp(Protocol):
    """Authenticated JSON calls against one provider's API hosts (the base API and, if any, a second
    host such as Microsoft Graph), with the deployment's bot token when one is configured."""

    @property
    def has_bot(self) -> bool: ...

    @property
    def graph_base(self) -> str: ...

    async def call(
        self,
        method: str,
        path: str,
        *,
        allow_errors: bool = False,
        bearer: str | None = None,
        as_bot: bool = False,
        data: dict[str, str] | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
        graph: bool = False,
    ) -> Any:
        """One JSON call; a 4xx raises ProviderError unless `allow_errors`."""
        ...

    async def call_raw(
        self,
        method: str,
        path: str,
        *,
        bearer: str | None = None,
        as_bot: bool = False,
        data: dict[str, str] | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
        graph: bool = False,
    ) -> tuple[int, Any]:
        """One call; (status, parsed JSON or text), whatever the status below 500."""
        ...


class ProviderHooks:
    """Every hook a provider may implement. The defaults are what a provider without quirks gets."""

    # Capabilities the services read.
    judges_token_response: ClassVar[bool] = False  # check_token_response replaces RFC 6749 §5.2
    revokes: ClassVar[bool] = False  # revoke replaces RFC 7009 revocation of the access token
    enters_target: ClassVar[bool] = False  # the agent types the target (entered_target checks it)
    receives_inbound: ClassVar[bool] = False  # read_inbound / on_inbound handle calls to an install's URL
    receives_events: ClassVar[bool] = False  # read_event handles the app's one events URL
    # The answer to a call that is refused (unsigned, badly signed, stale, malformed): the provider's own.
    refusal: ClassVar[Reply] = Reply(401, '{"error": "invalid request"}')
    renders_events: ClassVar[bool] = False  # render_event turns ticket events into this platform's messages
    sends_notices: ClassVar[bool] = False  # render_notice makes a console notice (an admin notification)
    probes: ClassVar[bool] = False  # probe checks the install's credentials and target (health checks)
    # details_later fetches display-only details of a first install once the browser was sent on.
    fetches_details_later: ClassVar[bool] = False
    # Payload templates an agent can start from, by name (the outgoing webhook's).
    ready_made: ClassVar[Mapping[str, str]] = {}

    def check_token_response(
        self, status: int, body: dict[str, Any], *, refreshing: bool = False
    ) -> dict[str, Any]:
        """Judge a token endpoint's answer (code exchange, refresh, configuration check); raise
        ProviderError with a reason. `refreshing`: the answer to a refresh grant, which carries none of
        an install's own fields. Used only when `judges_token_response`."""
        raise NotImplementedError

    async def after_install(self, api: ProviderHttp, token: dict[str, Any], meta: Meta) -> None:
        """Enrich `meta` after a code exchange (e.g. the Discord guild's name); raise ProviderError."""

    async def details_later(self, api: ProviderHttp, token: dict[str, Any], meta: Meta) -> Meta:
        """Display-only details the install does not depend on (e.g. the Discord channel's name): the meta
        fields to add. For a first install the worker calls it after the callback's redirect (the
        `install_details` job), with the row's opened credentials (its secret fields) as `token`; a
        reinstall calls it inside the callback with the token response. Never fails the install: a missing
        detail is left out. Used only when `fetches_details_later`."""
        return {}

    async def connect(self, api: ProviderHttp, fields: dict[str, Any], ctx: ConnectContext) -> Installation:
        """Connect without an OAuth redirect (form and popup kinds): check the validated form fields
        with the provider and return what to store. Required for those kinds."""
        raise NotImplementedError

    def reveal(self, bundle: Secrets) -> dict[str, str]:
        """What to show the agent once, right after connecting (e.g. a signing secret)."""
        return {}

    async def revoke(self, api: ProviderHttp, bundle: Secrets) -> None:
        """Provider-specific uninstall. Used only when `revokes`."""
        raise NotImplementedError

    async def list_targets(self, api: ProviderHttp, bundle: Secrets, meta: Meta) -> list[Target]:
        """Where notifications can go (for specs with a `target_label`)."""
        return []

    def entered_target(self, value: str) -> Target:
        """The target an agent typed (e.g. a recipient's phone number), checked; raise ServiceError with
        INVALID_INPUT and a sentence saying what is expected. Used only when `enters_target`."""
        raise NotFound(Reason.NOT_FOUND, "nothing to enter for this integration")

    def render_event(self, event: TicketEvent, meta: Meta, *, template: str = "") -> RenderedMessage:
        """The event as this platform's native message (pure: no HTTP). Ticket text is hostile: the
        renderer neutralises mentions, markup and links and cuts text at the platform's limits.

        Args:
            event: the ticket event.
            meta: the integration's shown settings (e.g. a WhatsApp template name).
            template: the integration's own payload template, where it has one (the webhook's).

        Used only when `renders_events`.

        Raises:
            NotFound: the provider cannot carry ticket events.
        """
        raise NotFound(Reason.NOT_FOUND, "this integration cannot carry ticket events")

    def render_notice(self, text: str) -> RenderedMessage:
        """A short notice from the console itself (not a ticket event, so no thread) as this platform's
        plainest message, sent with `send_message`. `text` may carry tenant-chosen names: the renderer
        neutralises it as it does ticket text. Used only when `sends_notices`.

        Raises:
            NotFound: the provider cannot carry notices.
        """
        raise NotFound(Reason.NOT_FOUND, "this integration cannot carry console notices")

    async def send_message(
        self,
        api: ProviderHttp,
        bundle: Secrets,
        meta: Meta,
        message: RenderedMessage,
        *,
        thread_handle: str = "",
    ) -> SendResult:
        """Post one rendered message to the target chosen at install, once (no retry here), and judge the
        answer: never raise for a provider's answer or a network failure, return a `SendResult`.

        Args:
            api: the provider's API hosts (with the deployment's bot token where one is configured).
            bundle: the integration's decrypted secrets (tokens, webhook URL, signing secret).
            meta: the integration's shown settings (the picked channel, space, chat or number).
            message: what `render_event` made of the event.
            thread_handle: the handle stored from the ticket's first message, "" for the first one.

        Used only when `renders_events`.
        """
        raise NotFound(Reason.NOT_FOUND, "this integration cannot carry ticket events")

    async def probe(self, api: ProviderHttp, bundle: Secrets, meta: Meta) -> SendResult | None:
        """The provider's cheapest authoritative call that says whether the install still works (a
        health check), judged like a send: DELIVERED (works), AUTH_FAILED (the credential, bot, webhook
        or target is gone: reconnect), RETRY or REJECTED (failed for now). Never raises; None when there
        is nothing to check yet (no target picked). Used only when `probes`.
        """
        return None

    def preview(self, template: str) -> str:
        """A payload template rendered from a sample event (the connect form's live preview)."""
        raise NotFound(Reason.NOT_FOUND, "no preview for this integration")

    def setup_note(self) -> str:
        """Provider-specific guidance for the operator's setup panel."""
        return ""

    def read_inbound(self, headers: Mapping[str, str], body: bytes, bundle: Secrets, now: float) -> Verified:
        """Authenticate a call to this install's public inbound URL against its secrets (`bundle`) and
        say what it means; raise InboundRefused when it is not from the provider, stale or malformed."""
        raise InboundRefused("not_offered")

    def on_inbound(self, update: object, meta: Meta) -> Meta | None:
        """Fold an authenticated provider call into `meta`; None when nothing changes."""
        return None

    def read_event(self, headers: Mapping[str, str], body: bytes, keys: Secrets, now: float) -> Verified:
        """Authenticate a call to the app's events URL with the app's keys (signing secret, public key,
        app secret) and say what it means; raise InboundRefused when it is not from the provider, stale
        (over `FRESH_SECONDS`) or malformed. Used only when `receives_events`."""
        raise InboundRefused("not_offered")

    def handshake(self, query: Mapping[str, str], keys: Secrets) -> Reply:
        """A GET on the events URL (a subscription check, e.g. Meta's `hub.challenge`)."""
        return Reply(404, '{"detail": "not found"}')


NO_HOOKS = ProviderHooks()
