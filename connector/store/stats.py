"""Figures that describe the database as a whole: what the metrics report at each scrape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.jobs import JobState
from connector.domain.lifecycle import OrderState
from connector.store import job_queries, orders
from connector.store.tables import jobs_table


@dataclass(frozen=True, slots=True)
class DatabaseFigures:
    jobs_by_state: dict[JobState, int]
    oldest_due_seconds: float
    orders_by_state: dict[OrderState, int]


async def database_figures(connection: AsyncConnection, now: datetime) -> DatabaseFigures:
    oldest = (
        await connection.execute(
            select(func.min(jobs_table.c.run_at)).where(
                jobs_table.c.state == JobState.QUEUED.value, jobs_table.c.run_at <= now
            )
        )
    ).scalar_one_or_none()
    return DatabaseFigures(
        jobs_by_state=await job_queries.count_by_state(connection),
        oldest_due_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        orders_by_state=await orders.count_by_state(connection),
    )
