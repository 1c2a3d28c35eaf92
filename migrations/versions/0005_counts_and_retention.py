"""Constant-cost metrics and retention: orders counted by state as they move, and the
indexes the pruning and the unmatched listing read through.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The order states at this revision, each counted from zero.
STATES = (
    "received",
    "accepted",
    "placed",
    "in_progress",
    "ready_for_pickup",
    "completed",
    "delivered",
    "rejected",
    "on_hold",
    "cancelled",
    "cancel_refused",
)


def upgrade() -> None:
    op.create_table(
        "order_counts",
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("orders", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("state", name="pk_order_counts"),
    )
    op.execute(
        "INSERT INTO order_counts (state, orders) SELECT state, count(*) FROM orders GROUP BY state"
    )
    for state in STATES:
        op.execute(
            sa.text(
                "INSERT INTO order_counts (state, orders) SELECT :state, 0 "
                "WHERE NOT EXISTS (SELECT 1 FROM order_counts WHERE state = :state)"
            ).bindparams(state=state)
        )
    op.create_index("ix_received_webhooks_outcome", "received_webhooks", ["outcome"])
    op.create_index("ix_received_webhooks_received_at", "received_webhooks", ["received_at"])
    op.create_index("ix_jobs_finished_at", "jobs", ["finished_at"])
    op.create_index("ix_order_events_occurred_at", "order_events", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_order_events_occurred_at", "order_events")
    op.drop_index("ix_jobs_finished_at", "jobs")
    op.drop_index("ix_received_webhooks_received_at", "received_webhooks")
    op.drop_index("ix_received_webhooks_outcome", "received_webhooks")
    op.drop_table("order_counts")
