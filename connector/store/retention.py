"""Pruning what has served its purpose, in small batches so that no delete ever holds the
database for long (on SQLite, intake waits for the one writer).

- done jobs, by when they finished;
- received-webhook rows (the deduplication record), by when they arrived;
- the history of orders at rest for good (delivered, cancelled), by when it happened.

The order mapping itself (ids, tokens, states) is kept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Table, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.jobs import JobState
from connector.domain.lifecycle import TERMINAL_STATES
from connector.store.tables import (
    jobs_table,
    order_events_table,
    orders_table,
    received_webhooks_table,
)

BATCH_ROWS = 1000


def _old_rows(cutoff: datetime) -> dict[str, tuple[Table, list[ColumnElement[bool]]]]:
    jobs, webhooks, events, orders = (
        jobs_table,
        received_webhooks_table,
        order_events_table,
        orders_table,
    )
    order_at_rest = exists().where(
        orders.c.rxscale_uid == events.c.rxscale_uid,
        orders.c.state.in_([state.value for state in TERMINAL_STATES]),
    )
    return {
        "jobs": (jobs, [jobs.c.state == JobState.DONE.value, jobs.c.finished_at < cutoff]),
        "received_webhooks": (webhooks, [webhooks.c.received_at < cutoff]),
        "order_events": (events, [events.c.occurred_at < cutoff, order_at_rest]),
    }


PRUNED_TABLES = ("jobs", "received_webhooks", "order_events")


async def prune_batch(
    connection: AsyncConnection, table_name: str, cutoff: datetime, rows: int = BATCH_ROWS
) -> int:
    """Delete up to `rows` old rows of one table; how many went."""
    table, conditions = _old_rows(cutoff)[table_name]
    oldest = select(table.c.id).where(*conditions).limit(rows).scalar_subquery()
    result = await connection.execute(delete(table).where(table.c.id.in_(oldest)))
    return int(result.rowcount)
