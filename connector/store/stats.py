"""Figures that describe the database as a whole: what the metrics report at each scrape.

Each is read through an index or the order counts, so a scrape costs the same with a year
of orders as with a day's (bench/metrics_cost.py measures it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.jobs import JobState
from connector.domain.lifecycle import OrderState
from connector.store import job_queries, order_counts, order_queries, webhooks
from connector.store.tables import jobs_table, orders_table
from connector.store.webhooks import WebhookOutcome

# A job re-driven this often keeps failing for a reason re-drive cannot mend.
REDRIVEN_REPEATEDLY = 3
# A refused cancellation counts as news for this long (its alert then resolves).
RECENT = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class DatabaseFigures:
    jobs_by_state: dict[JobState, int]
    oldest_due_seconds: float
    orders_by_state: dict[OrderState, int]
    oldest_on_hold_seconds: float = 0.0
    unmatched_news: int = 0
    jobs_redriven_repeatedly: int = 0
    cancellations_refused_recently: int = 0


async def _oldest(
    connection: AsyncConnection, column: ColumnElement[datetime], *where: ColumnElement[bool]
) -> datetime | None:
    statement = select(func.min(column)).where(*where)
    return (await connection.execute(statement)).scalar_one_or_none()


def _age(now: datetime, since: datetime | None) -> float:
    return max((now - since).total_seconds(), 0.0) if since else 0.0


async def database_figures(connection: AsyncConnection, now: datetime) -> DatabaseFigures:
    jobs, orders_ = jobs_table, orders_table
    oldest_due = await _oldest(
        connection, jobs.c.run_at, jobs.c.state == JobState.QUEUED.value, jobs.c.run_at <= now
    )
    oldest_hold = await _oldest(
        connection, orders_.c.updated_at, orders_.c.state == OrderState.ON_HOLD.value
    )
    return DatabaseFigures(
        jobs_by_state=await job_queries.count_by_state(connection),
        oldest_due_seconds=_age(now, oldest_due),
        orders_by_state=await order_counts.count_by_state(connection),
        oldest_on_hold_seconds=_age(now, oldest_hold),
        unmatched_news=await webhooks.count_by_outcome(connection, WebhookOutcome.UNMATCHED),
        jobs_redriven_repeatedly=await job_queries.count_redriven(connection, REDRIVEN_REPEATEDLY),
        cancellations_refused_recently=await order_queries.count_in_state_since(
            connection, OrderState.CANCEL_REFUSED, now - RECENT
        ),
    )
