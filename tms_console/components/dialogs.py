"""The integrations page's dialogs: a provider's connect form, and its setup panel for operators."""

from __future__ import annotations

import reflex as rx

from tms_console.components.browser import run_in_browser
from tms_console.state.connect import ConnectState
from tms_console.state.integrations import IntegrationsState
from tms_console.state.setup_panel import SetupState
from tms_console.state.views import EnvVarView, FormFieldView


def _secondary(label: str, element_id: str) -> rx.Component:
    return rx.button(label, variant="soft", color_scheme="gray", id=element_id)


def _template(field: rx.Var[FormFieldView], element_id: rx.Var[str]) -> rx.Component:
    """A payload template with ready-made starting points and a live preview from a sample event."""
    ready_made = rx.select.root(
        rx.select.trigger(
            placeholder="Start from a ready-made template",
            id="template-ready-made",
            aria_label="Start from a ready-made template",
        ),
        rx.select.content(rx.foreach(field.choices, lambda name: rx.select.item(name, value=name))),
        on_change=ConnectState.use_template,
    )
    editor = rx.text_area(
        name=field.name,
        id=element_id,
        rows="8",
        width="100%",
        font_family="monospace",
        value=ConnectState.template_text,
        on_change=ConnectState.edit_template.debounce(400),
    )
    preview = rx.cond(
        ConnectState.template_error != "",
        rx.text(ConnectState.template_error, size="1", color="var(--red-11)", id="template-error"),
        rx.cond(
            ConnectState.template_preview != "",
            rx.el.pre(
                ConnectState.template_preview,
                id="template-preview",
                tab_index=0,  # scrollable: reachable by keyboard, and named for screen readers
                role="region",
                aria_label="Preview of the payload",
                max_height="12rem",
                overflow="auto",
                font_size="12px",
                background="var(--gray-2)",
                padding="0.5rem",
                width="100%",
            ),
        ),
    )
    return rx.vstack(
        ready_made, editor, rx.text("Preview (sample ticket.created)", size="1"), preview, width="100%"
    )


def _field(field: rx.Var[FormFieldView]) -> rx.Component:
    name = field.name
    element_id = "field-" + name
    control = rx.match(
        field.kind,
        ("secret", rx.input(type="password", name=name, id=element_id, auto_complete="off", width="100%")),
        ("url", rx.input(type="url", name=name, id=element_id, placeholder="https://", width="100%")),
        (
            "choices",
            rx.flex(
                rx.foreach(
                    field.choices,
                    lambda choice: rx.el.label(
                        rx.el.input(type="checkbox", name=name, value=choice, default_checked=True),
                        rx.text(" " + choice, as_="span", size="2"),
                        margin_right="1rem",
                    ),
                ),
                wrap="wrap",
                gap="2",
            ),
        ),
        ("template", _template(field, element_id)),
        rx.input(type="text", name=name, id=element_id, width="100%"),
    )
    return rx.vstack(
        rx.el.label(rx.text(field.label, size="2", weight="medium"), html_for=element_id),
        control,
        rx.cond(field.help != "", rx.text(field.help, size="1", color="var(--gray-11)")),
        spacing="1",
        width="100%",
    )


def connect_dialog() -> rx.Component:
    """The form a provider without an OAuth redirect needs. Submitted from the browser straight to the
    REST API (console.js), so what is typed never passes through the websocket or Reflex state."""
    key = ConnectState.form_open
    submit = run_in_browser(
        f"window.tmsConsole.submitForm({IntegrationsState.tenant_id}, {IntegrationsState.project_id}, {key})"
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Connect " + ConnectState.form_name),
            rx.box(
                rx.vstack(rx.foreach(ConnectState.form_fields, _field), spacing="3", width="100%"),
                rx.hstack(
                    rx.dialog.close(
                        rx.button("Cancel", variant="soft", color_scheme="gray", id="connect-cancel")
                    ),
                    rx.button(
                        "Connect", id="connect-submit", on_click=submit, custom_attrs={"data-submit": "1"}
                    ),
                    justify="end",
                    spacing="3",
                    margin_top="1rem",
                ),
                custom_attrs={"data-connect-form": key},
                id="connect-form",
            ),
        ),
        open=key != "",
        on_open_change=lambda _open: ConnectState.close_form(),
    )


def _env_row(var: rx.Var[EnvVarView]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(var.name)),
        rx.table.cell(rx.cond(var.required, "required", "optional")),
        rx.table.cell(
            rx.cond(
                var.is_set,
                rx.badge("set", color_scheme="green"),
                rx.badge("not set", color_scheme=rx.cond(var.required, "red", "gray")),
            )
        ),
        rx.table.cell(rx.text(var.purpose, size="1")),
    )


def _labelled_code(label: str, value: rx.Var[str], element_id: str, size: str) -> rx.Component:
    """A labelled value to copy (shown only when there is one)."""
    return rx.cond(
        value != "",
        rx.vstack(
            rx.text(label, size="2", weight="medium"),
            rx.code(value, id=element_id, size=size),  # type: ignore[arg-type]
            spacing="1",
        ),
    )


def setup_dialog() -> rx.Component:
    """For operators: what to register at the provider and which settings the console reads, with a
    live check that asks the provider whether it accepts the configuration."""
    info = SetupState.info
    problems = rx.cond(
        SetupState.problems.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.vstack(rx.foreach(SetupState.problems, lambda p: rx.text(p, size="2"))),
            color_scheme="red",
            id="setup-problems",
        ),
        rx.callout(
            rx.cond(
                SetupState.checked,
                "The provider accepted this configuration.",
                "No problems found in the configuration.",
            ),
            icon="circle-check",
            color_scheme="green",
            id="setup-ok",
        ),
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Set up " + info.name),
            rx.vstack(
                rx.cond(
                    info.stand_in,
                    rx.callout(
                        "A local stand-in plays this provider until its credentials are set.",
                        icon="flask-conical",
                        size="1",
                    ),
                ),
                _labelled_code(
                    "Redirect URI to register at the provider",
                    info.redirect_uri,
                    "setup-redirect-uri",
                    "2",
                ),
                _labelled_code("Scopes", info.scopes, "setup-scopes", "1"),
                rx.text("Environment variables", size="2", weight="medium"),
                rx.table.root(rx.table.body(rx.foreach(SetupState.env, _env_row)), size="1", id="setup-env"),
                problems,
                rx.cond(
                    info.note != "",
                    rx.vstack(
                        rx.text("How the receiving side checks a delivery", size="2", weight="medium"),
                        rx.el.pre(
                            info.note,
                            id="setup-note",
                            font_size="12px",
                            background="var(--gray-2)",
                            padding="0.5rem",
                            overflow="auto",
                            max_height="14rem",
                            width="100%",
                        ),
                        width="100%",
                    ),
                ),
                rx.hstack(
                    rx.cond(
                        info.docs_url != "",
                        rx.link("Provider documentation", href=info.docs_url, is_external=True, size="2"),
                    ),
                    rx.spacer(),
                    rx.button(
                        rx.cond(
                            SetupState.checking,
                            rx.spinner(size="1"),
                            rx.icon("activity", size=14),
                        ),
                        "Check with the provider",
                        id="setup-check",
                        variant="soft",
                        disabled=SetupState.checking,
                        on_click=SetupState.run_setup_check,
                    ),
                    rx.dialog.close(
                        rx.button("Close", variant="soft", color_scheme="gray", id="setup-close")
                    ),
                    width="100%",
                    spacing="3",
                ),
                spacing="3",
            ),
            max_width="44rem",
        ),
        open=SetupState.setup_open != "",
        on_open_change=lambda _open: SetupState.close_setup(),
    )
