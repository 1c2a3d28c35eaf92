"""What an operator asks of the connector by hand: re-run an order put on hold."""

from __future__ import annotations

from datetime import datetime

from connector.domain.jobs import JobKind, JobSpec
from connector.domain.lifecycle import OrderState
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
        await jobs.enqueue(
            connection,
            [JobSpec(JobKind.ACCEPT_ORDER, uid, unique_key=f"accept:{uid}:g{generation}")],
            now,
        )
    return generation
