"""Orders remember when Empower last told us (or we asked) about them, for reconciliation.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("empower_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_orders_empower_patient_token", ["empower_patient_token"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_empower_patient_token")
        batch.drop_column("empower_checked_at")
