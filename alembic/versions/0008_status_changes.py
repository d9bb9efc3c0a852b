"""Status changes: when an integration's status last changed, and each change in the audit trail.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

`project_integrations.status_changed_at` says since when the stored status holds (NULL: since the row
was created). Every change of status is one `integration_events` row with action `status_changed`,
its reason code and the two statuses (`from_status`, `to_status`), so the audit trail is the history.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("project_integrations", sa.Column("status_changed_at", sa.DateTime(timezone=True)))
    op.add_column("integration_events", sa.Column("from_status", sa.String(20)))
    op.add_column("integration_events", sa.Column("to_status", sa.String(20)))


def downgrade() -> None:
    op.drop_column("integration_events", "to_status")
    op.drop_column("integration_events", "from_status")
    op.drop_column("project_integrations", "status_changed_at")
