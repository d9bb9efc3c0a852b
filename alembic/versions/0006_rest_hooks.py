"""REST Hooks (Zapier, Make): subscriptions of a project's ticket events to a URL.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-03

The target URL (a Zap's catch hook URL lets anyone post into the Zap) and the hook's signing secret
are stored only sealed (AES-256-GCM, key id, nonce; AAD naming tenant, project and row);
`display_url` is scheme and host only.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rest_hooks",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(50), nullable=False),
        sa.Column("display_url", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_by_id", sa.Text(), nullable=True),
        sa.Column("created_by_name", sa.Text(), nullable=True),
    )
    op.create_index("idx_rest_hooks_project", "rest_hooks", ["tenant_id", "project_id", "event"])


def downgrade() -> None:
    op.drop_index("idx_rest_hooks_project", table_name="rest_hooks")
    op.drop_table("rest_hooks")
