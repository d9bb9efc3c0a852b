"""The tenant-wide audit page's index, and each tenant's notification setting.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-02

`idx_integration_events_tenant` serves the admin's audit page and its CSV export (newest first over a
whole tenant). `tenant_settings.notify_integration_id` names the tenant's own integration that is told
when another one needs attention; uninstalling it sets the choice back to null.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("idx_integration_events_tenant", "integration_events", ["tenant_id", "created_at"])
    op.create_table(
        "tenant_settings",
        sa.Column("tenant_id", sa.Uuid(), primary_key=True),
        sa.Column(
            "notify_integration_id",
            sa.Uuid(),
            sa.ForeignKey("project_integrations.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_by", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("tenant_settings")
    op.drop_index("idx_integration_events_tenant", table_name="integration_events")
