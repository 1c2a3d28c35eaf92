"""Reading the order mapping and its history: what reconciliation, the operator commands
and the metrics ask of it. Writes are in `orders`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.lifecycle import OrderState
from connector.domain.records import OrderHistoryRow, OrderRecord
from connector.store.orders import order_events, orders, to_record


async def unknown_uids(connection: AsyncConnection, uids: Sequence[str]) -> list[str]:
    """Those of `uids` the mapping has never seen, in the order given."""
    if not uids:
        return []
    known = set(
        (
            await connection.execute(
                select(orders.c.rxscale_uid).where(orders.c.rxscale_uid.in_(list(uids)))
            )
        ).scalars()
    )
    return [uid for uid in uids if uid not in known]


async def quiet_orders(
    connection: AsyncConnection,
    states: Iterable[OrderState],
    silent_since: datetime,
    *,
    limit: int = 500,
) -> list[str]:
    """Orders in `states` with no word from Empower since `silent_since`, oldest first."""
    last_word = func.coalesce(orders.c.empower_checked_at, orders.c.updated_at)
    statement = (
        select(orders.c.rxscale_uid)
        .where(orders.c.state.in_([s.value for s in states]), last_word < silent_since)
        .order_by(last_word)
        .limit(limit)
    )
    return list((await connection.execute(statement)).scalars())


async def records_in_states(
    connection: AsyncConnection, states: Iterable[OrderState], *, limit: int = 5000
) -> list[OrderRecord]:
    """Orders in `states`, least recently changed first, read through the index on state."""
    statement = (
        select(orders)
        .where(orders.c.state.in_([s.value for s in states]))
        .order_by(orders.c.updated_at)
        .limit(limit)
    )
    return [to_record(row) for row in await connection.execute(statement)]


async def uids_in_states(
    connection: AsyncConnection, uids: Sequence[str], states: Iterable[OrderState]
) -> set[str]:
    """Those of `uids` whose order is in one of `states` now."""
    if not uids:
        return set()
    statement = select(orders.c.rxscale_uid).where(
        orders.c.rxscale_uid.in_(list(uids)), orders.c.state.in_([s.value for s in states])
    )
    return set((await connection.execute(statement)).scalars())


async def uids_for_patient_token(connection: AsyncConnection, token: str) -> list[str]:
    statement = select(orders.c.rxscale_uid).where(orders.c.empower_patient_token == token)
    return list((await connection.execute(statement)).scalars())


async def list_orders(
    connection: AsyncConnection, *, state: OrderState | None = None, limit: int = 1000
) -> list[OrderRecord]:
    statement = select(orders).order_by(orders.c.id).limit(limit)
    if state is not None:
        statement = statement.where(orders.c.state == state.value)
    return [to_record(row) for row in await connection.execute(statement)]


async def count_in_state_since(
    connection: AsyncConnection, state: OrderState, since: datetime
) -> int:
    """Orders that moved into `state` (or last changed in it) since `since`, read through
    the index on state."""
    statement = select(func.count()).where(
        orders.c.state == state.value, orders.c.updated_at >= since
    )
    return int((await connection.execute(statement)).scalar_one())


async def order_history(connection: AsyncConnection, uid: str) -> list[OrderHistoryRow]:
    statement = (
        select(order_events).where(order_events.c.rxscale_uid == uid).order_by(order_events.c.id)
    )
    return [
        OrderHistoryRow(
            id=row.id,
            rxscale_uid=row.rxscale_uid,
            kind=row.kind,
            from_state=OrderState(row.from_state) if row.from_state else None,
            to_state=OrderState(row.to_state) if row.to_state else None,
            detail=row.detail,
            occurred_at=row.occurred_at,
        )
        for row in await connection.execute(statement)
    ]
