"""What an operator asks of the connector by hand, recorded and queued like a delivery:
re-run an order that was put on hold."""

from __future__ import annotations

from datetime import datetime

from connector.domain.lifecycle import OrderEvent, OrderState, apply
from connector.domain.workflow import order_step
from connector.store import jobs, orders
from connector.store.database import Database


class NotRerunnable(Exception):
    pass


async def rerun_order(database: Database, uid: str, now: datetime) -> int:
    """Send an order that was put on hold through intake and placement again, after its
    cause was fixed (say, the product or prescriber map). Returns the new generation, which
    gives the placement fresh idempotency keys at Empower."""
    async with database.transaction() as connection:
        record = await orders.get_order(connection, uid)
        if record is None:
            raise NotRerunnable(f"no order {uid!r} is known to the connector")
        if record.state is not OrderState.ON_HOLD:
            raise NotRerunnable(
                f"order {uid} is {record.state.value!r}; only an order on hold can be re-run"
            )
        generation = await orders.rerun(connection, uid, now)
        follow_up = apply(OrderState.ON_HOLD, OrderEvent.RETRY).follow_up
        if follow_up is not None:
            await jobs.enqueue(connection, [order_step(follow_up, uid, generation)], now)
    return generation
