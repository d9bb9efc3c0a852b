"""Initial schema: tenants, projects, users, the seed's project_integrations, credentials, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        _created_at(),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        _created_at(),
    )
    op.create_index("idx_projects_tenant", "projects", ["tenant_id"])
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        _created_at(),
    )
    op.create_index("idx_users_tenant", "users", ["tenant_id"])

    # The seed's table, exactly: columns, unique constraint and four indexes.
    op.create_table(
        "project_integrations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("integration_type", sa.String(50), nullable=False),
        sa.Column("meta", pg.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        _created_at(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        # Additive columns; none holds a secret.
        sa.Column("installed_by_id", sa.Text()),
        sa.Column("installed_by_name", sa.Text()),
        sa.Column("status_reason", sa.String(50)),
        sa.UniqueConstraint(
            "tenant_id",
            "project_id",
            "integration_type",
            name="project_integrations_tenant_id_project_id_integration_type_key",
        ),
    )
    op.create_index("idx_project_integrations_project", "project_integrations", ["tenant_id", "project_id"])
    op.create_index("idx_project_integrations_type", "project_integrations", ["integration_type"])
    op.create_index("idx_project_integrations_status", "project_integrations", ["status"])
    op.create_index("idx_project_integrations_meta", "project_integrations", ["meta"], postgresql_using="gin")

    op.create_table(
        "integration_credentials",
        sa.Column(
            "integration_id",
            sa.Uuid(),
            sa.ForeignKey("project_integrations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "integration_events",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("integration_id", sa.Uuid()),
        sa.Column("integration_type", sa.String(50), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(50)),
        sa.Column("actor_id", sa.Text()),
        sa.Column("actor_name", sa.Text()),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(512)),
        _created_at(),
    )
    op.create_index(
        "idx_integration_events_project", "integration_events", ["tenant_id", "project_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("integration_events")
    op.drop_table("integration_credentials")
    op.drop_table("project_integrations")
    op.drop_table("users")
    op.drop_table("projects")
    op.drop_table("tenants")
