"""Intake: the first step of an order's life, however the connector hears of it (its
webhook, reconciliation): the mapping is started and the accept job queued, once ever."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.jobs import JobKind
from connector.domain.workflow import order_step
from connector.store import jobs, orders


async def intake_order(connection: AsyncConnection, uid: str, now: datetime) -> list[int]:
    """Start the mapping for a new RxScale order and queue its acceptance; ids of new jobs."""
    return (await connection.run_sync(intake_orders, [uid], now)).get(uid, [])


def intake_orders(
    connection: Connection, uids: Sequence[str], now: datetime
) -> dict[str, list[int]]:
    """`intake_order` for many orders in a handful of statements; new job ids by uid.
    Blocking: new-order deliveries are written in the blocking writer."""
    unique = list(dict.fromkeys(uids))
    orders.create_orders_if_absent(connection, unique, now)
    specs = [order_step(JobKind.ACCEPT_ORDER, uid, 0) for uid in unique]
    created = jobs.enqueue_by_order(connection, specs, now)
    return {uid: ids for uid, ids in created.items() if uid is not None}
