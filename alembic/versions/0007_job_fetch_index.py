"""Job fetch index: waiting and running jobs by lock.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

procrastinate's `procrastinate_fetch_job_v2` rejects a waiting job when another job with the same lock
is running or waiting ahead of it (`NOT EXISTS (... other_jobs.lock = jobs.lock AND (status = 'doing'
OR status = 'todo' AND ...))`). Every delivery job carries a lock (integration and ticket), and
procrastinate's own indexes cover that lookup only for running jobs (`lock WHERE status = 'doing'`) or
lead with the id (`(id, lock) WHERE status IN ('todo', 'doing')`); without fresh planner statistics the
check scanned every waiting job for every job taken (400 ms per fetch at a 2,500-job backlog). With this
index the check is one index probe per candidate, whatever the statistics say.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "idx_procrastinate_jobs_lock_waiting"


def upgrade() -> None:
    op.execute(
        f"CREATE INDEX {INDEX} ON procrastinate_jobs (lock) "
        "WHERE status IN ('todo'::procrastinate_job_status, 'doing'::procrastinate_job_status)"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX {INDEX}")
