"""Job priority: news about no known order is claimed after the work of live orders.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARKED = 1


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("priority", sa.SmallInteger(), server_default=sa.text("0"), nullable=False)
        )
        batch.drop_index("ix_jobs_state_run_at")
        batch.create_index("ix_jobs_state_priority_run_at", ["state", "priority", "run_at"])
    # Queued news not yet bound to an order is parked, as the receiver now enqueues it.
    op.execute(
        sa.text(
            "UPDATE jobs SET priority = :parked "
            "WHERE kind = 'empower_news' AND order_uid IS NULL AND state = 'queued'"
        ).bindparams(parked=PARKED)
    )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_state_priority_run_at")
        batch.create_index("ix_jobs_state_run_at", ["state", "run_at"])
        batch.drop_column("priority")
