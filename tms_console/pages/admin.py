"""/admin: every project of the tenant against every provider (tenant admins only)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from tms_console.components.layout import page_frame, top_bar
from tms_console.components.notify_setting import notify_setting
from tms_console.domain.status import OverviewBucket
from tms_console.state.admin import AdminState
from tms_console.state.views import OverviewCell, OverviewRow

ROUTE = "/admin"
STATUS: dict[str, tuple[str, str]] = {
    OverviewBucket.CONNECTED.value: ("Connected", "green"),
    OverviewBucket.NEEDS_ATTENTION.value: ("Needs attention", "amber"),
    OverviewBucket.NOT_CONNECTED.value: ("Not connected", "gray"),
}
# SVG fill attributes do not resolve CSS variables: the chart needs plain colours (Radix steps 9/7).
CHART_FILL = {
    OverviewBucket.CONNECTED.value: "#30a46c",
    OverviewBucket.NEEDS_ATTENTION.value: "#ffc53d",
    OverviewBucket.NOT_CONNECTED.value: "#c1c8cd",
}


def _badge(status: rx.Var[str]) -> rx.Component:
    return rx.match(
        status,
        *[(key, rx.badge(label, color_scheme=color, size="1")) for key, (label, color) in STATUS.items()],  # type: ignore[arg-type]
        rx.badge("Unknown", size="1"),
    )


def _total(key: str, label: str, color: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color="var(--gray-11)"),
            rx.heading(
                AdminState.by_status[key].to_string(), size="6", id=f"total-{key}", color=f"var(--{color}-11)"
            ),
            spacing="1",
        ),
        min_width="10rem",
    )


def _failing_total() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("triangle-alert", size=14),
                rx.text("Failing deliveries", size="2"),
                spacing="1",
                align="center",
                color="var(--gray-11)",
            ),
            rx.heading(
                AdminState.failing_total.to_string(), size="6", id="total-failing", color="var(--red-11)"
            ),
            spacing="1",
        ),
        min_width="10rem",
    )


def _chart() -> rx.Component:
    return rx.recharts.bar_chart(
        *[
            rx.recharts.bar(data_key=key, stack_id="s", fill=CHART_FILL[key], name=label)
            for key, (label, _) in STATUS.items()
        ],
        rx.recharts.x_axis(data_key="provider"),
        rx.recharts.y_axis(),
        rx.recharts.legend(),
        rx.recharts.graphing_tooltip(),
        data=AdminState.chart.to(list[dict[str, Any]]),  # typed bars serialise to the objects recharts reads
        width="100%",
        height=240,
    )


def _chart_table() -> rx.Component:
    """The chart's numbers as a table (its text equivalent: nothing is told by colour alone)."""
    return rx.el.details(
        rx.el.summary("The chart's numbers", id="chart-numbers", class_name="chart-numbers-summary"),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Provider"),
                    *[rx.table.column_header_cell(label) for label, _ in STATUS.values()],
                )
            ),
            rx.table.body(
                rx.foreach(
                    AdminState.chart,
                    lambda bar: rx.table.row(
                        rx.table.row_header_cell(bar.provider),
                        *[rx.table.cell(getattr(bar, key).to_string()) for key in STATUS],
                    ),
                )
            ),
            size="1",
            id="chart-table",
        ),
    )


def _chart_card() -> rx.Component:
    return rx.card(
        rx.box(
            _chart(),
            role="img",
            aria_label="Integrations by provider and status, as a stacked bar chart; its numbers follow.",
        ),
        _chart_table(),
        width="100%",
    )


def _filters() -> rx.Component:
    return rx.hstack(
        rx.input(
            placeholder="Search projects, accounts, channels (3+ letters) or an exact id",
            value=AdminState.search,
            on_change=AdminState.set_search.debounce(350),
            id="overview-search",
            width="100%",
            max_width="24rem",
        ),
        rx.select.root(
            rx.select.trigger(id="overview-status", aria_label="Status"),
            rx.select.content(
                rx.select.item("Any status", value="all"),
                *[rx.select.item(label, value=key) for key, (label, _) in STATUS.items()],
            ),
            value=AdminState.status_filter,
            on_change=AdminState.set_status_filter,
        ),
        rx.select.root(
            rx.select.trigger(id="overview-provider", aria_label="Provider"),
            rx.select.content(
                rx.select.item("Any provider", value="all"),
                rx.foreach(AdminState.providers, lambda p: rx.select.item(p.name, value=p.key)),
            ),
            value=AdminState.provider_filter,
            on_change=AdminState.set_provider_filter,
        ),
        rx.hstack(
            rx.switch(
                checked=AdminState.attention_only,
                on_change=AdminState.toggle_attention,
                id="overview-attention",
                aria_label="Needs attention only",
            ),
            rx.text("Needs attention only", size="2"),
            align="center",
        ),
        rx.hstack(
            rx.switch(
                checked=AdminState.failing_only,
                on_change=AdminState.toggle_failing,
                id="overview-failing",
                aria_label="Failing deliveries only",
            ),
            rx.text("Failing deliveries", size="2"),
            align="center",
        ),
        rx.select.root(
            rx.select.trigger(id="overview-sort", aria_label="Sort by"),
            rx.select.content(
                rx.select.item("Name A-Z", value="name"),
                rx.select.item("Name Z-A", value="-name"),
                rx.select.item("Recently changed", value="-updated"),
                rx.select.item("Least recently changed", value="updated"),
            ),
            value=AdminState.sort,
            on_change=AdminState.set_sort,
        ),
        spacing="3",
        wrap="wrap",
        align="center",
    )


def _failing_mark(row: rx.Var[OverviewRow], cell: rx.Var[OverviewCell]) -> rx.Component:
    """An icon and words, not colour alone; the label says since when."""
    return rx.cond(
        cell.failing,
        rx.hstack(
            rx.icon("triangle-alert", size=12),
            rx.text("Deliveries failing", size="1"),
            spacing="1",
            align="center",
            color="var(--red-11)",
            role="img",
            aria_label="Deliveries failing since " + cell.failing_since,
            title="Deliveries failing since " + cell.failing_since,
            class_name="failing-mark",
            id="failing-" + row.id + "-" + cell.key,
        ),
    )


def _cell(row: rx.Var[OverviewRow], cell: rx.Var[OverviewCell]) -> rx.Component:
    return rx.table.cell(
        rx.vstack(
            _badge(cell.status),
            rx.text(cell.account, size="1", color="var(--gray-11)"),
            rx.cond(
                cell.detail != "",
                rx.text(cell.detail, size="1", id="detail-" + row.id + "-" + cell.key, max_width="16rem"),
            ),
            _failing_mark(row, cell),
            spacing="1",
        ),
        on_click=AdminState.open_project(row.id),
        cursor="pointer",
        id="cell-" + row.id + "-" + cell.key,
    )


def _grid() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Project"),
                rx.foreach(AdminState.providers, lambda p: rx.table.column_header_cell(p.name)),
                rx.table.column_header_cell("Last change"),
            )
        ),
        rx.table.body(
            rx.foreach(
                AdminState.rows,
                lambda row: rx.table.row(
                    rx.table.row_header_cell(
                        # A real link (a keyboard reaches it); the page re-checks access on load.
                        rx.link(row.name, href="/projects/" + row.id + "/integrations", id="open-" + row.id)
                    ),
                    rx.foreach(row.cells, lambda cell: _cell(row, cell)),
                    rx.table.cell(rx.text(row.last_change, size="1")),
                    class_name="overview-row",
                ),
            )
        ),
        id="overview-grid",
        size="1",
        width="100%",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.button("Previous", size="1", variant="soft", disabled=AdminState.page <= 1,
                  on_click=AdminState.go_to_page(AdminState.page - 1), id="overview-prev"),
        rx.text("Page ", AdminState.page.to_string(), " of ", AdminState.pages.to_string(), " · ",
                AdminState.matching.to_string(), " projects", size="2", id="overview-page"),
        rx.button("Next", size="1", variant="soft", disabled=AdminState.page >= AdminState.pages,
                  on_click=AdminState.go_to_page(AdminState.page + 1), id="overview-next"),
        align="center",
        spacing="3",
    )  # fmt: skip


def _body() -> rx.Component:
    return rx.cond(
        AdminState.denied != "",
        rx.callout(AdminState.denied, icon="shield-alert", color_scheme="red", id="admin-denied"),
        rx.vstack(
            rx.hstack(
                _total("connected", "Connected", "green"),
                _total("needs_attention", "Needs attention", "amber"),
                _total("not_connected", "Not connected", "gray"),
                _failing_total(),
                spacing="3",
                wrap="wrap",
            ),
            _chart_card(),
            notify_setting(),
            _filters(),
            rx.cond(
                AdminState.error != "", rx.callout(AdminState.error, color_scheme="red", icon="circle-alert")
            ),
            rx.cond(
                AdminState.rows.length() > 0,
                _grid(),
                rx.text("No project matches these filters.", id="overview-empty", color="var(--gray-11)"),
            ),
            _pager(),
            spacing="4",
            width="100%",
        ),
    )


def admin_page() -> rx.Component:
    bar = top_bar(
        "layout-grid",
        "Integrations overview",
        rx.link("Audit log", href="/admin/audit", size="2", id="audit-log-link"),
        rx.link("Back to projects", href="/", size="2"),
        rx.text(AdminState.user_name, size="2"),
    )
    return page_frame(
        rx.cond(AdminState.loading, rx.center(rx.spinner(size="3"), padding="4rem"), _body()), bar=bar
    )
