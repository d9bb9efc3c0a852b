"""The Reflex app: API mounted through api_transformer, pages registered. Nothing else."""

import reflex as rx

from tms_console.api import create_api
from tms_console.pages import admin, admin_audit, integrations, login
from tms_console.state.admin import AdminState
from tms_console.state.admin_audit import AdminAuditState
from tms_console.state.integrations import IntegrationsState
from tms_console.state.login import HomeState, LoginState
from tms_console.state.replace import ReplaceState
from tms_console.state.session import SessionGuard

# console.js: browser-side actions that must not travel through the websocket (see its header);
# console.css: focus, reflow and reduced-motion rules (README, "Accessibility").
# hydrate_fallback: what a page without prerendered HTML (the integrations page) shows at first paint.
app = rx.App(
    api_transformer=create_api(),
    head_components=[rx.el.script(src="/console.js", defer=True)],
    stylesheets=["/console.css"],
    hydrate_fallback=integrations.first_paint,
)
app.add_middleware(SessionGuard())
app.add_page(rx.center(rx.spinner(size="3"), min_height="100vh"), route="/", on_load=HomeState.route)
app.add_page(login.login_page, route=login.ROUTE, title="Sign in · TMS Integrations", on_load=LoginState.load)
app.add_page(
    integrations.integrations_page,
    route=integrations.ROUTE,
    title="Integrations · TMS",
    on_load=[IntegrationsState.load, ReplaceState.ask],
)
app.add_page(
    admin.admin_page,
    route=admin.ROUTE,
    title="Overview · TMS",
    on_load=AdminState.load,
)
app.add_page(
    admin_audit.admin_audit_page,
    route=admin_audit.ROUTE,
    title="Audit log · TMS",
    on_load=AdminAuditState.load,
)
