"""Ticket event intake: the job queue's schema (procrastinate), ticket_events and deliveries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

procrastinate's schema is applied from the SQL procrastinate ships, so `alembic upgrade head` stays the
one way to create everything. A later procrastinate upgrade adds a revision that applies that release's
files from `procrastinate/sql/migrations/` the same way.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from procrastinate.schema import SchemaManager
from sqlalchemy.dialects import postgresql as pg

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every object procrastinate's schema creates is named procrastinate_*.
_DROP_JOB_QUEUE = """
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT tablename FROM pg_tables
                WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', item.signature);
    END LOOP;
    FOR item IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
                  AND t.typtype IN ('e', 'c') LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
    END LOOP;
END $$;
"""


def _run_script(sql: str) -> None:
    # The driver's own connection, without parameters: the script holds several statements and `%` signs,
    # which SQLAlchemy's and psycopg's parameter parsing would otherwise take for placeholders.
    op.get_bind().connection.driver_connection.execute(sql)  # type: ignore[union-attr]


def _timestamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    _run_script(SchemaManager.get_schema())
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("payload", pg.JSONB(), nullable=False),
        sa.Column("answer", pg.JSONB(), nullable=False),
        _timestamp("received_at"),
        sa.UniqueConstraint("tenant_id", "event_id", name="ticket_events_tenant_event_key"),
    )
    op.create_index("idx_ticket_events_project", "ticket_events", ["tenant_id", "project_id", "received_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "ticket_event_id",
            sa.Uuid(),
            sa.ForeignKey("ticket_events.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("integration_type", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        _timestamp("created_at"),
        _timestamp("updated_at"),
    )
    op.create_index("idx_deliveries_event", "deliveries", ["ticket_event_id"])
    op.create_index("idx_deliveries_project", "deliveries", ["tenant_id", "project_id", "created_at"])
    op.create_index("idx_deliveries_integration", "deliveries", ["integration_id", "status"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("ticket_events")
    _run_script(_DROP_JOB_QUEUE)
