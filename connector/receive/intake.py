"""Intake: the first step of an order's life, however the connector hears of it (its
webhook, reconciliation): the mapping is started and the accept job queued, once ever."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.jobs import JobKind
from connector.domain.workflow import order_step
from connector.store import jobs, orders


async def intake_order(connection: AsyncConnection, uid: str, now: datetime) -> list[int]:
    """Start the mapping for a new RxScale order and queue its acceptance; ids of new jobs."""
    await orders.create_order_if_absent(connection, uid, now)
    return await jobs.enqueue(connection, [order_step(JobKind.ACCEPT_ORDER, uid, 0)], now)
