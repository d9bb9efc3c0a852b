"""The admin overview's summary: one row per project and per-tenant totals, kept current by triggers.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-02

Reading 70,000 `project_integrations` rows per request (a GROUP BY for the totals, a semi-join per
filter, a correlated max() per project for "last change", a sequential ILIKE for search) kept the
overview at 3x its 50 ms target. The seed's table and its four indexes stay as they are; instead:

- `overview_projects`: one row per project (name, last change, which providers are installed, which
  are not active, which are active without a target, the searchable names and ids). Recomputed from
  the project's own integrations (at most one per provider) by a trigger on every write to
  `projects` or `project_integrations`, under a row lock so two concurrent installs never leave it stale.
- `overview_totals`: per tenant and provider, how many integrations are installed, not active, and
  active without a target; `overview_tenants`: each tenant's number of projects. Both moved by the
  statement's changed rows (+1 new, -1 old) in the same triggers.
- `pg_trgm` GIN index on the searchable names (any part of three characters or more, any case) and a
  GIN index on the exact ids.

The triggers are the one place these rows are written, whatever writes the integrations (the install
flow, the lifecycle, an operator's SQL, a COPY), so the summary can never be stale after a commit.
The searchable keys below are frozen with this revision; `overview_queries.SEARCH_NAMES/SEARCH_IDS`
name them for the application and a test checks the two agree.
"""

# ruff: noqa: S608 - the SQL here is built from this module's own constants, never from input
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from alembic import op

revision: str = "0015"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMES = (
    "guild_name", "team_name", "ms_team_name", "account_name", "target_name", "channel",
    "channel_name", "phone_number", "display_phone_number", "verified_name",
)  # fmt: skip
IDS = (
    "guild_id", "team_id", "channel_id", "target_id", "account_id", "bot_id", "waba_id",
    "phone_number_id", "webhook_id", "tenant_id",
)  # fmt: skip


FLAGS = ("installed", "inactive", "untargeted")


def _keys(keys: Sequence[str]) -> str:
    return ", ".join(f"'{key}'" for key in keys)


def _meta_values(keys: Sequence[str]) -> str:
    """SQL: the project's integrations' non-empty meta values under `keys` (`e.value`)."""
    return (
        "FROM project_integrations pi, jsonb_each_text(CASE WHEN jsonb_typeof(pi.meta) = 'object' "
        "THEN pi.meta ELSE '{}'::jsonb END) e "
        "WHERE pi.tenant_id = p.tenant_id AND pi.project_id = p.id "
        f"AND e.key IN ({_keys(keys)}) AND e.value <> ''"
    )


REFRESH = (
    """
CREATE FUNCTION overview_refresh_projects(pids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Lock first (in one order, no deadlock), compute after: under READ COMMITTED the next statement
    -- sees every write that committed while we waited, so the last writer computes from the latest rows.
    PERFORM 1 FROM overview_projects WHERE project_id = ANY(pids) ORDER BY project_id FOR UPDATE;
    INSERT INTO overview_projects AS o (project_id, tenant_id, name, last_change, installed, inactive,
                                        untargeted, search_text, search_ids)
    SELECT p.id, p.tenant_id, p.name, i.last_change,
           coalesce(i.installed, '{}'), coalesce(i.inactive, '{}'), coalesce(i.untargeted, '{}'),
           concat_ws(E'\\n', p.name, (SELECT string_agg(e.value, E'\\n') """
    + _meta_values(NAMES)
    + """)),
           ARRAY[p.id::text] || coalesce((SELECT array_agg(DISTINCT e.value) """
    + _meta_values(IDS)
    + """), '{}')
    FROM projects p
    LEFT JOIN LATERAL (
        SELECT max(pi.updated_at) AS last_change,
               array_agg(pi.integration_type::text) AS installed,
               array_agg(pi.integration_type::text) FILTER (WHERE pi.status <> 'active') AS inactive,
               array_agg(pi.integration_type::text)
                   FILTER (WHERE pi.status = 'active' AND NOT pi.meta ? 'target_id') AS untargeted
        FROM project_integrations pi
        WHERE pi.tenant_id = p.tenant_id AND pi.project_id = p.id
    ) i ON true
    WHERE p.id = ANY(pids)
    ORDER BY p.id
    ON CONFLICT (project_id) DO UPDATE SET
        tenant_id = EXCLUDED.tenant_id, name = EXCLUDED.name, last_change = EXCLUDED.last_change,
        installed = EXCLUDED.installed, inactive = EXCLUDED.inactive, untargeted = EXCLUDED.untargeted,
        search_text = EXCLUDED.search_text, search_ids = EXCLUDED.search_ids;
END $$;
"""
)

# One statement-level trigger function per table: a COPY of 70,000 rows refreshes each project once.
# Each event's changed rows as (sign, tenant, project, type, status, meta): -1 old version, +1 new one.
_COLUMNS = "tenant_id, project_id, integration_type::text, status::text, meta"
CHANGES = {
    "INSERT": f"SELECT 1 AS sign, {_COLUMNS} FROM new_rows",
    "DELETE": f"SELECT -1 AS sign, {_COLUMNS} FROM old_rows",
    # Only rows whose overview-relevant columns changed (a health check touching other columns costs nothing).
    "UPDATE": (
        "SELECT c.* FROM old_rows o JOIN new_rows n ON n.id = o.id CROSS JOIN LATERAL (VALUES "
        "(-1, o.tenant_id, o.project_id, o.integration_type::text, o.status::text, o.meta), "
        "(1, n.tenant_id, n.project_id, n.integration_type::text, n.status::text, n.meta)) "
        "AS c(sign, tenant_id, project_id, integration_type, status, meta) "
        "WHERE (o.tenant_id, o.project_id, o.integration_type, o.status, o.meta, o.updated_at) IS DISTINCT FROM "
        "(n.tenant_id, n.project_id, n.integration_type, n.status, n.meta, n.updated_at)"
    ),
}


def _apply(changes: str) -> str:
    """PL/pgSQL: move the totals by the changed rows, then refresh their projects."""
    return f"""
        INSERT INTO overview_totals AS t (tenant_id, integration_type, installed, inactive, untargeted)
        SELECT tenant_id, integration_type, sum(sign), sum(sign * (status <> 'active')::int),
               sum(sign * (status = 'active' AND NOT meta ? 'target_id')::int)
        FROM ({changes}) c GROUP BY tenant_id, integration_type ORDER BY tenant_id, integration_type
        ON CONFLICT (tenant_id, integration_type) DO UPDATE SET
            installed = t.installed + EXCLUDED.installed,
            inactive = t.inactive + EXCLUDED.inactive,
            untargeted = t.untargeted + EXCLUDED.untargeted;
        PERFORM overview_refresh_projects(ARRAY(SELECT DISTINCT project_id FROM ({changes}) c));"""


ON_INTEGRATIONS = (
    """
CREATE FUNCTION overview_on_integrations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM overview_totals;
        UPDATE overview_projects SET last_change = NULL, installed = '{}', inactive = '{}',
            untargeted = '{}', search_text = name, search_ids = ARRAY[project_id::text];
    ELSIF TG_OP = 'INSERT' THEN"""
    + _apply(CHANGES["INSERT"])
    + """
    ELSIF TG_OP = 'DELETE' THEN"""
    + _apply(CHANGES["DELETE"])
    + """
    ELSE"""
    + _apply(CHANGES["UPDATE"])
    + """
    END IF;
    RETURN NULL;
END $$;
"""
)


def _count_projects(changes: str) -> str:
    """PL/pgSQL: move each tenant's project count by the changed rows, (sign, tenant_id)."""
    return f"""
        INSERT INTO overview_tenants AS t (tenant_id, projects)
        SELECT tenant_id, sum(sign) FROM ({changes}) c GROUP BY tenant_id ORDER BY tenant_id
        ON CONFLICT (tenant_id) DO UPDATE SET projects = t.projects + EXCLUDED.projects;"""


ON_PROJECTS = (
    """
CREATE FUNCTION overview_on_projects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN  -- overview_projects goes with it (the foreign key makes it cascade)
        DELETE FROM overview_tenants;
    ELSIF TG_OP = 'INSERT' THEN"""
    + _count_projects("SELECT 1 AS sign, tenant_id FROM new_rows")
    + """
        PERFORM overview_refresh_projects(ARRAY(SELECT id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN  -- overview_projects rows go by the foreign key"""
    + _count_projects("SELECT -1 AS sign, tenant_id FROM old_rows")
    + """
    ELSE"""
    + _count_projects(
        "SELECT c.sign, c.tenant_id FROM old_rows o JOIN new_rows n ON n.id = o.id "
        "CROSS JOIN LATERAL (VALUES (-1, o.tenant_id), (1, n.tenant_id)) AS c(sign, tenant_id) "
        "WHERE o.tenant_id <> n.tenant_id"
    )
    + """
        PERFORM overview_refresh_projects(ARRAY(
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (o.name, o.tenant_id) IS DISTINCT FROM (n.name, n.tenant_id)));
    END IF;
    RETURN NULL;
END $$;
"""
)

TRIGGERS = {  # name: (table, event, transition tables, function)
    "overview_integrations_inserted": ("project_integrations", "INSERT", "NEW TABLE AS new_rows", "integrations"),
    "overview_integrations_updated": (
        "project_integrations", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "integrations",
    ),
    "overview_integrations_deleted": ("project_integrations", "DELETE", "OLD TABLE AS old_rows", "integrations"),
    "overview_projects_inserted": ("projects", "INSERT", "NEW TABLE AS new_rows", "projects"),
    "overview_projects_updated": ("projects", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "projects"),
    "overview_projects_deleted": ("projects", "DELETE", "OLD TABLE AS old_rows", "projects"),
}  # fmt: skip
TRUNCATED = {"overview_integrations_truncated": "integrations", "overview_projects_truncated": "projects"}


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "overview_projects",
        sa.Column(
            "project_id", sa.Uuid(), sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("last_change", sa.DateTime(timezone=True), nullable=True),
        sa.Column("installed", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("inactive", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("untargeted", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("search_text", sa.Text(), nullable=False, server_default=""),
        sa.Column("search_ids", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
    )
    # Covering indexes: a page in name or change order, its window count and the status filters are
    # answered from the index alone (index-only scans), never from 10,000 random heap visits.
    op.create_index(
        "idx_overview_projects_name",
        "overview_projects",
        ["tenant_id", "name", "project_id"],
        postgresql_include=["last_change", *FLAGS],
    )
    op.create_index(
        "idx_overview_projects_change",
        "overview_projects",
        ["tenant_id", sa.text("last_change DESC NULLS LAST"), "name", "project_id"],  # newest first
        postgresql_include=list(FLAGS),
    )
    op.create_index(
        "idx_overview_projects_text",
        "overview_projects",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index("idx_overview_projects_ids", "overview_projects", ["search_ids"], postgresql_using="gin")
    op.create_table(
        "overview_totals",
        sa.Column("tenant_id", sa.Uuid(), primary_key=True),
        sa.Column("integration_type", sa.String(50), primary_key=True),
        sa.Column("installed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("inactive", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("untargeted", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "overview_tenants",
        sa.Column("tenant_id", sa.Uuid(), primary_key=True),
        sa.Column("projects", sa.Integer(), nullable=False, server_default="0"),
    )
    op.execute(REFRESH)
    op.execute(ON_INTEGRATIONS)
    op.execute(ON_PROJECTS)
    for name, (table, event, tables, function) in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION overview_on_{function}()"
        )
    for name, function in TRUNCATED.items():
        table = "projects" if function == "projects" else "project_integrations"
        op.execute(
            f"CREATE TRIGGER {name} AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION overview_on_{function}()"
        )
    # Backfill what exists.
    op.execute("SELECT overview_refresh_projects(ARRAY(SELECT id FROM projects))")
    op.execute("INSERT INTO overview_tenants SELECT tenant_id, count(*) FROM projects GROUP BY tenant_id")
    op.execute(
        "INSERT INTO overview_totals (tenant_id, integration_type, installed, inactive, untargeted) "
        "SELECT tenant_id, integration_type, count(*), count(*) FILTER (WHERE status <> 'active'), "
        "count(*) FILTER (WHERE status = 'active' AND NOT meta ? 'target_id') "
        "FROM project_integrations GROUP BY tenant_id, integration_type"
    )


def downgrade() -> None:
    tables = {name: table for name, (table, *_) in TRIGGERS.items()}
    tables |= {
        name: "projects" if f == "projects" else "project_integrations" for name, f in TRUNCATED.items()
    }
    for name, table in tables.items():
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for function in (
        "overview_on_projects()",
        "overview_on_integrations()",
        "overview_refresh_projects(uuid[])",
    ):
        op.execute(f"DROP FUNCTION {function}")
    op.drop_table("overview_tenants")
    op.drop_table("overview_totals")
    op.drop_table("overview_projects")
    # pg_trgm stays: other objects may use it, and dropping an extension needs more rights than creating.
