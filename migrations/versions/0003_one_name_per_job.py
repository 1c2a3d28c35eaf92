"""Job identity spelled one way: the news job is `empower_news`, and the first accept job
of an order carries its generation like every other step (`accept:<uid>:g0`).

Data only: queued and finished jobs are renamed so that keys stay unique across the
upgrade (a redelivered new-order webhook must still find its accept job).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Literals go in as parameters: a colon followed by a letter would read as one in SQL text.
PREFIX, SUFFIX = "accept:", ":g0"

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE jobs SET kind = 'empower_news' WHERE kind = 'empower_event'")
    op.execute(
        sa.text(
            "UPDATE jobs SET unique_key = unique_key || :suffix "
            "WHERE kind = 'accept_order' AND unique_key = :prefix || order_uid"
        ).bindparams(prefix=PREFIX, suffix=SUFFIX)
    )


def downgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE jobs SET unique_key = :prefix || order_uid "
            "WHERE kind = 'accept_order' AND unique_key = :prefix || order_uid || :suffix"
        ).bindparams(prefix=PREFIX, suffix=SUFFIX)
    )
    op.execute("UPDATE jobs SET kind = 'empower_event' WHERE kind = 'empower_news'")
