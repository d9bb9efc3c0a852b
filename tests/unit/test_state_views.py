"""The console's states hold typed view models: bools as bools, lists as lists, no string dicts."""

from __future__ import annotations

import typing
from typing import Any

import reflex as rx

from tms_console.domain.events import EVENT_TYPES
from tms_console.providers.spec import FormField
from tms_console.services import installations, overview, setup
from tms_console.state import (  # noqa: F401
    activity,
    admin,
    audit,
    connect,
    event_types,
    integrations,
    login,
    replace,
    setup_panel,
    simulate,
    targets,
)
from tms_console.state.views import (
    CardView,
    OverviewCell,
    card_view,
    env_var_views,
    event_choices,
    form_field_view,
    overview_rows,
    setup_view,
)


def console_states() -> list[Any]:
    found, todo = [], list(rx.State.get_substates())
    while todo:
        cls = todo.pop()
        todo.extend(cls.get_substates())
        if cls.__module__.startswith("tms_console."):
            found.append(cls)
    return found


def untyped(tp: Any) -> bool:
    """A `dict[str, str]` (the old "yes"/"" rows) or a list of dicts anywhere inside the type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is dict and args == (str, str):
        return True
    if origin is list and args and typing.get_origin(args[0]) is dict:
        return True
    return any(untyped(arg) for arg in args)


def test_no_console_state_holds_string_dicts() -> None:
    states = console_states()
    names = {cls.__name__ for cls in states}
    assert {"IntegrationsState", "CardsState", "ConnectState", "SetupState", "TargetPickerState"} <= names
    offenders = [
        f"{cls.__name__}.{name}: {field.outer_type_}"
        for cls in states
        for name, field in cls.__fields__.items()
        if field._owner is cls and untyped(field.outer_type_)
    ]
    assert offenders == []


def test_each_concern_of_the_integrations_page_is_a_substate_of_the_page() -> None:
    page = integrations.IntegrationsState
    assert set(page.get_substates()) == {
        integrations.CardsState,
        connect.ConnectState,
        setup_panel.SetupState,
        targets.TargetPickerState,
        activity.ActivityState,
        audit.AuditPanelState,
        event_types.EventTypesState,
        simulate.SimulateState,
        replace.ReplaceState,
    }


def test_card_view_keeps_flags_as_bools_and_names_the_stand_in() -> None:
    # Positional: the service's sixth field is its "a local stand-in plays this provider" flag.
    played = installations.IntegrationView(
        "discord", "Discord", "d", "/l.svg", "connected", True, can_test=True
    )
    card = card_view(played)
    assert card == CardView(
        key="discord", name="Discord", description="d", logo="/l.svg", status="connected", stand_in=True,
        can_test=True,
    )  # fmt: skip
    real = installations.IntegrationView("discord", "Discord", "d", "/l.svg", "not_connected", False)
    assert card_view(real).stand_in is False and card_view(real).can_test is False
    assert card_view(real).events == [] and card_view(real).events_summary == ""


def test_card_view_says_which_events_an_installed_card_receives() -> None:
    every = installations.IntegrationView(
        "slack", "Slack", "d", "/l.svg", "connected", events=list(EVENT_TYPES)
    )
    assert card_view(every).events_summary == "All ticket events"
    picked = installations.IntegrationView(
        "slack", "Slack", "d", "/l.svg", "connected", events=["ticket.created", "ticket.resolved"]
    )
    assert card_view(picked).events_summary == "New ticket, Ticket resolved"
    choices = event_choices(["ticket.resolved"])
    assert [c.value for c in choices] == list(EVENT_TYPES) and [c.picked for c in choices].count(True) == 1
    assert choices[-1].picked and choices[-1].slug == "ticket-resolved"


def test_setup_view_joins_scopes_and_keeps_env_flags_as_bools() -> None:
    info = setup.SetupInfo(
        "slack", "Slack", "redirect", False, "https://c/cb", ["chat:write", "channels:read"],
        env=[setup.EnvVar("A_ID", True, False, "id"), setup.EnvVar("A_API_BASE", False, True, "base")],
    )  # fmt: skip
    assert setup_view(info).scopes == "chat:write channels:read"
    assert [(v.required, v.is_set) for v in env_var_views(info)] == [(True, False), (False, True)]


def test_form_field_choices_are_a_list() -> None:
    view = form_field_view(FormField("events", "Events", kind="choices", choices=("a", "b|c")))
    assert view.choices == ["a", "b|c"]  # a "|" in a choice no longer splits it


def test_overview_rows_follow_the_provider_columns_and_show_account_or_channel() -> None:
    result = overview.Overview(
        total_projects=1, matching=1, page=1, page_size=25,
        providers=[overview.ProviderRef("slack", "Slack"), overview.ProviderRef("discord", "Discord")],
        by_status={}, by_provider={},
        projects=[overview.ProjectRow("p1", "Desk", "", {
            "discord": overview.Cell("connected", account="Guild"),
            "slack": overview.Cell("needs_attention", channel="#help"),
        })],
    )  # fmt: skip
    (row,) = overview_rows(result)
    assert row.cells == [
        OverviewCell("slack", "needs_attention", "#help"),
        OverviewCell("discord", "connected", "Guild"),
    ]
