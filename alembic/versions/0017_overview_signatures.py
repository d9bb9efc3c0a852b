"""The admin overview's kept counts for filtered pages: projects per tenant and status signature.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-02

A filtered page (a status without a provider, "needs attention") counted its matching projects over
the tenant's 10,000 `overview_projects` entries on every request (2-9 ms). What a status filter reads
of a project is its signature: which providers are installed, not active, active without a target.
`overview_signatures` keeps how many projects of a tenant have each signature (a few hundred
rows per tenant at most: 259 for 10,000 generated projects), moved by a statement-level trigger on `overview_projects` itself (-1 for each old row, +1
for each new one, in one statement locking in one order), so every writer of that table (0015's
triggers, the foreign key's cascade) keeps it exact in the writing transaction. A filter's count is
then the sum over the signatures that satisfy the same condition.
"""

# ruff: noqa: S608 - the SQL here is built from this module's own constants, never from input
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from alembic import op

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "tenant_id, installed, inactive, untargeted"
CHANGES = {
    "INSERT": f"SELECT 1 AS sign, {SIGNATURE} FROM new_rows",
    "DELETE": f"SELECT -1 AS sign, {SIGNATURE} FROM old_rows",
    "UPDATE": (f"SELECT -1 AS sign, {SIGNATURE} FROM old_rows UNION ALL SELECT 1, {SIGNATURE} FROM new_rows"),
}


def _function(event: str) -> str:
    return f"""
CREATE FUNCTION overview_signatures_on_{event.lower()}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO overview_signatures AS s ({SIGNATURE}, projects)
    SELECT {SIGNATURE}, sum(sign) FROM ({CHANGES[event]}) c
    GROUP BY {SIGNATURE} HAVING sum(sign) <> 0 ORDER BY {SIGNATURE}
    ON CONFLICT ({SIGNATURE}) DO UPDATE SET projects = s.projects + EXCLUDED.projects;
    RETURN NULL;
END $$;
"""


# Each trigger below locks its signature rows in one order, but an INSERT and an UPDATE trigger lock
# separately, so a statement that both inserted and updated rows could deadlock with another; none
# does: the one writer, 0015's `overview_refresh_projects` upsert, inserts only for new projects (the
# projects INSERT trigger, whose ids have no row yet) and updates only for existing ones (every other
# caller names projects whose row was inserted with them and leaves only by cascade with them).
TABLES = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows"}
TABLES["UPDATE"] = f"{TABLES['DELETE']} {TABLES['INSERT']}"


def upgrade() -> None:
    op.create_table(
        "overview_signatures",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("installed", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("inactive", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("untargeted", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("projects", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("tenant_id", "installed", "inactive", "untargeted"),
    )
    for event, tables in TABLES.items():
        op.execute(_function(event))
        op.execute(
            f"CREATE TRIGGER overview_signatures_{event.lower()} AFTER {event} ON overview_projects "
            f"REFERENCING {tables} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION overview_signatures_on_{event.lower()}()"
        )
    op.execute(
        "CREATE FUNCTION overview_signatures_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN DELETE FROM overview_signatures; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER overview_signatures_truncate AFTER TRUNCATE ON overview_projects "
        "FOR EACH STATEMENT EXECUTE FUNCTION overview_signatures_on_truncate()"
    )
    # Backfill what exists.
    op.execute(
        f"INSERT INTO overview_signatures ({SIGNATURE}, projects) "
        f"SELECT {SIGNATURE}, count(*) FROM overview_projects GROUP BY {SIGNATURE}"
    )


def downgrade() -> None:
    for event in (*TABLES, "TRUNCATE"):
        op.execute(f"DROP TRIGGER overview_signatures_{event.lower()} ON overview_projects")
        op.execute(f"DROP FUNCTION overview_signatures_on_{event.lower()}()")
    op.drop_table("overview_signatures")
