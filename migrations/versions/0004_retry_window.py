"""Retries bounded by time: when a job first failed, how often its lease expired, and how
often re-drive gave it another run.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True))
        for counter in ("lease_expiries", "redrives"):
            batch.add_column(
                sa.Column(counter, sa.Integer(), server_default=sa.text("0"), nullable=False)
            )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("redrives")
        batch.drop_column("lease_expiries")
        batch.drop_column("first_failed_at")
