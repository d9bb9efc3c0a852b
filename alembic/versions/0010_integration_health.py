"""Integration health: when each integration was last checked and how its token refreshes are going.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02

One row per checked or refreshed integration (services/health_checks.py, services/refresh.py), deleted
with the integration (cascade). It holds no secret: times, counters and reason codes only.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _counter(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "integration_health",
        sa.Column(
            "integration_id",
            sa.Uuid(),
            sa.ForeignKey("project_integrations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        _timestamp("last_checked_at"),
        sa.Column("last_check_reason", sa.String(50), nullable=True),
        _counter("check_failures"),
        _timestamp("last_refreshed_at"),
        _counter("refresh_attempts"),
        _counter("refresh_failures"),
        _timestamp("first_refresh_failure_at"),
        _timestamp("last_refresh_failure_at"),
        _timestamp("retry_refresh_at"),
    )


def downgrade() -> None:
    op.drop_table("integration_health")
