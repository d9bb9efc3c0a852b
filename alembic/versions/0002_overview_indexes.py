"""Indexes for the admin overview: projects of a tenant in name order.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The overview pages through a tenant's projects by name (and filters by name).
    op.create_index("idx_projects_tenant_name", "projects", ["tenant_id", "name"])


def downgrade() -> None:
    op.drop_index("idx_projects_tenant_name", table_name="projects")
