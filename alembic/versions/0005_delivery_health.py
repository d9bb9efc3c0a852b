"""Delivery health: each integration's last delivery outcome and whether its deliveries are failing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

One row per integration, written in the transaction that records each delivery outcome, so the cards
and the admin overview never scan deliveries. No foreign key (like deliveries); an uninstall deletes
the row. The partial index serves the overview's "failing" filter and count.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    default = None if nullable else sa.func.now()
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def upgrade() -> None:
    op.create_table(
        "delivery_health",
        sa.Column("integration_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("integration_type", sa.String(50), nullable=False),
        _timestamp("last_delivery_at"),
        sa.Column("last_status", sa.String(20), nullable=False),
        sa.Column("last_reason", sa.String(50), nullable=True),
        sa.Column("failing", sa.Boolean(), nullable=False, server_default=sa.false()),
        _timestamp("failing_since", nullable=True),
        _timestamp("updated_at"),
    )
    op.create_index(
        "idx_delivery_health_failing",
        "delivery_health",
        ["tenant_id", "project_id"],
        postgresql_where=sa.text("failing"),
    )


def downgrade() -> None:
    op.drop_index("idx_delivery_health_failing", table_name="delivery_health")
    op.drop_table("delivery_health")
