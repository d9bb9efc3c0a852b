"""Deliveries: the attempts log, ticket thread handles, and when a delivery is next tried.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

No column holds a secret: attempts keep a status, a reason code and at most 1 KiB of the answer.
A thread handle is the platform's id of a ticket's first message, keyed on the integration row's id,
which a reconnect (an upsert of the same row) keeps.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    default = None if nullable else sa.func.now()
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def upgrade() -> None:
    op.add_column("deliveries", _timestamp("next_attempt_at", nullable=True))
    op.add_column("deliveries", sa.Column("last_reason", sa.String(50), nullable=True))
    op.add_column("deliveries", _timestamp("delivered_at", nullable=True))
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "delivery_id", sa.Uuid(), sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        _timestamp("started_at"),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(50), nullable=True),
        sa.Column("retry_after", sa.Float(), nullable=True),
        sa.Column("detail", sa.String(1024), nullable=True),
        _timestamp("next_attempt_at", nullable=True),
    )
    op.create_index("idx_delivery_attempts_delivery", "delivery_attempts", ["delivery_id", "attempt"])
    op.create_index("idx_delivery_attempts_started", "delivery_attempts", ["started_at"])
    op.create_table(
        "ticket_threads",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("handle", sa.String(200), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("integration_id", "ticket_id", name="ticket_threads_pkey"),
    )


def downgrade() -> None:
    op.drop_table("ticket_threads")
    op.drop_index("idx_delivery_attempts_started", table_name="delivery_attempts")
    op.drop_index("idx_delivery_attempts_delivery", table_name="delivery_attempts")
    op.drop_table("delivery_attempts")
    for column in ("delivered_at", "last_reason", "next_attempt_at"):
        op.drop_column("deliveries", column)
