"""Typed view models the console's states hold and send to the browser.

Only what a page shows: flags are bools, lists are lists. Nothing here is ever a secret, an ORM row
or a client; each view is built from a service's result by the function next to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tms_console.domain.events import EVENT_LABELS, EVENT_TYPES
from tms_console.domain.values import Target
from tms_console.providers.spec import FormField
from tms_console.services import demo, installations, overview, setup


@dataclass(frozen=True)
class ProjectOption:
    """A project of the caller's tenant, for the project switcher."""

    id: str = ""
    name: str = ""


def project_options(projects: list[installations.ProjectView]) -> list[ProjectOption]:
    return [ProjectOption(p.id, p.name) for p in projects]


@dataclass(frozen=True)
class CardView:
    """One provider card: what it is, its status, the connected account, and how to install it."""

    key: str
    name: str
    description: str
    logo: str
    status: str  # connected | needs_setup | needs_reconnect | degraded | disabled | not_connected | ...
    status_note: str = ""  # the status's reason in plain words and what fixes it
    status_since: str = ""
    stand_in: bool = False  # a local stand-in plays the provider (dev and test only): the card says so
    account: str = ""
    channel: str = ""
    installed_by: str = ""
    installed_at: str = ""
    install_kind: str = "redirect"  # redirect | form | popup
    target_label: str = ""  # "Channel", "Space", "Chat" when the agent picks where notifications go
    popup_url: str = ""
    popup_origin: str = ""
    popup_message_type: str = ""
    can_test: bool = False
    last_delivery: str = ""  # "Delivered 3 min ago" / "Failing since 10:42 UTC — <reason>"; "" when none
    last_delivery_at: str = ""  # ISO 8601, UTC
    delivery_failing: bool = False
    target_entry: bool = False  # the target is typed (a phone number), not picked from a list
    events: list[str] = field(default_factory=list)  # the ticket event types it receives (installed only)
    events_summary: str = ""  # the same, in words: "All ticket events", "New ticket, Ticket resolved"


def events_summary(events: list[str]) -> str:
    """What an installed card says it receives ("" when nothing is installed)."""
    if not events:
        return ""
    if len(events) == len(EVENT_TYPES):
        return "All ticket events"
    return ", ".join(EVENT_LABELS[e] for e in events if e in EVENT_LABELS)


def card_view(view: installations.IntegrationView) -> CardView:
    last = view.last_delivery
    return CardView(
        key=view.key,
        name=view.name,
        description=view.description,
        logo=view.logo,
        status=view.status,
        status_note=view.status_note,
        status_since=view.status_since,
        stand_in=view.stand_in,
        account=view.account,
        channel=view.channel,
        installed_by=view.installed_by,
        installed_at=view.installed_at,
        install_kind=view.install_kind,
        target_label=view.target_label,
        popup_url=view.popup_url,
        popup_origin=view.popup_origin,
        popup_message_type=view.popup_message_type,
        can_test=view.can_test,
        last_delivery=last.summary if last else "",
        last_delivery_at=last.at if last else "",
        delivery_failing=last.failing if last else False,
        target_entry=view.target_entry,
        events=list(view.events),
        events_summary=events_summary(list(view.events)),
    )


@dataclass(frozen=True)
class EventChoice:
    """One ticket event type in a card's event editor, and whether it is ticked."""

    value: str
    label: str
    picked: bool = False
    slug: str = ""  # the type as an element id: "ticket-created"


def event_choices(picked: list[str]) -> list[EventChoice]:
    return [
        EventChoice(e, EVENT_LABELS[e], e in picked, e.replace(".", "-").replace("_", "-"))
        for e in EVENT_TYPES
    ]


@dataclass(frozen=True)
class FormFieldView:
    """One input of a connect form (its value goes from the browser to the REST API, never here)."""

    name: str
    label: str
    kind: str  # text | secret | url | choices | template
    help: str = ""
    choices: list[str] = field(default_factory=list)


def form_field_view(form_field: FormField) -> FormFieldView:
    return FormFieldView(
        form_field.name, form_field.label, form_field.kind, form_field.help, list(form_field.choices)
    )


@dataclass(frozen=True)
class TargetOption:
    """Somewhere an integration can post (a channel, a space, a chat)."""

    id: str
    name: str
    group: str = ""


def target_option(target: Target) -> TargetOption:
    return TargetOption(target.id, target.name, target.group)


@dataclass(frozen=True)
class SetupView:
    """The operator's view of a provider: what to register there, and where its docs are."""

    name: str = ""
    redirect_uri: str = ""
    scopes: str = ""  # space-separated, as the provider's consoles list them
    stand_in: bool = False
    docs_url: str = ""
    note: str = ""


@dataclass(frozen=True)
class EnvVarView:
    """An environment variable the console reads for a provider (whether it is set, never its value)."""

    name: str
    required: bool
    is_set: bool
    purpose: str


def setup_view(info: setup.SetupInfo) -> SetupView:
    scopes = " ".join(info.scopes)
    return SetupView(info.name, info.redirect_uri, scopes, info.stand_in, info.docs_url, info.note)


def env_var_views(info: setup.SetupInfo) -> list[EnvVarView]:
    return [EnvVarView(v.name, v.required, v.is_set, v.purpose) for v in info.env]


@dataclass(frozen=True)
class ProviderColumn:
    """A provider as a column of the admin overview and an option of its filter."""

    key: str
    name: str


@dataclass(frozen=True)
class OverviewCell:
    """One project's integration with one provider, as the overview shows it."""

    key: str
    status: str  # connected | needs_attention | not_connected
    account: str = ""
    failing: bool = False  # its deliveries are failing
    failing_since: str = ""
    detail: str = ""  # a status needing attention in plain words, with what fixes it


@dataclass(frozen=True)
class OverviewRow:
    """One project of the overview: its cells in provider (column) order."""

    id: str
    name: str
    last_change: str
    cells: list[OverviewCell] = field(default_factory=list)


@dataclass(frozen=True)
class ChartBar:
    """One provider's bar of the overview chart (the field names are the chart's data keys)."""

    provider: str
    connected: int = 0
    needs_attention: int = 0
    not_connected: int = 0


def provider_columns(result: overview.Overview) -> list[ProviderColumn]:
    return [ProviderColumn(p.key, p.name) for p in result.providers]


def overview_rows(result: overview.Overview) -> list[OverviewRow]:
    keys = [p.key for p in result.providers]
    return [
        OverviewRow(
            p.id,
            p.name,
            p.last_change,
            [_overview_cell(k, p.cells[k]) for k in keys],
        )
        for p in result.projects
    ]


def _overview_cell(key: str, cell: overview.Cell) -> OverviewCell:
    account = cell.account or cell.channel
    return OverviewCell(key, cell.status, account, cell.failing, cell.failing_since, cell.detail)


def chart_bars(result: overview.Overview) -> list[ChartBar]:
    names = {p.key: p.name for p in result.providers}
    return [
        ChartBar(names[key], counts["connected"], counts["needs_attention"], counts["not_connected"])
        for key, counts in result.by_provider.items()
    ]


@dataclass(frozen=True)
class DemoUserView:
    """A seeded identity the demo login offers (dev only; no token passes through state)."""

    id: str
    name: str
    email: str
    role: str
    tenant: str


def demo_user_views(users: list[demo.DemoUser]) -> list[DemoUserView]:
    return [DemoUserView(u.id, u.name, u.email, u.role, u.tenant) for u in users]
