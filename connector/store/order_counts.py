"""How many orders are in each state, kept in step with every move: a handful of rows
however many orders there have ever been, so that `/metrics` costs the same on day 1 and
day 1000."""

from __future__ import annotations

from sqlalchemy import Connection, case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.lifecycle import OrderState
from connector.store.dialect import insert_or_ignore
from connector.store.tables import order_counts_table

order_counts = order_counts_table


async def count_by_state(connection: AsyncConnection) -> dict[OrderState, int]:
    """Orders by state, from the counts kept in step with every move: a handful of rows
    however many orders there have ever been."""
    statement = select(order_counts.c.state, order_counts.c.orders)
    known = {state.value for state in OrderState}
    return {
        OrderState(state): int(count)
        for state, count in await connection.execute(statement)
        if state in known
    }


def count_move(
    connection: Connection, before: OrderState | None, after: OrderState, *, times: int = 1
) -> None:
    """`times` orders left `before` (None: they are new) for `after`. Plain blocking code,
    for the blocking writer; async callers use `connection.run_sync`.

    Concurrent moves share counter rows, so the rows are locked in one order (by state)
    before they change. An UPDATE alone locks rows in the order it finds them, which on
    PostgreSQL changes as rows get new versions: two moves could each hold one row and
    wait for the other's (seen as deadlocks with three replicas draining a backlog)."""
    states = [after.value] if before is None else [before.value, after.value]
    delta = case((order_counts.c.state == after.value, times), else_=-times)
    in_order = (
        select(order_counts.c.state)
        .where(order_counts.c.state.in_(states))
        .order_by(order_counts.c.state)
        .with_for_update()
    )
    statement = (
        update(order_counts)
        .where(order_counts.c.state.in_(in_order))
        .values(orders=order_counts.c.orders + delta)
    )
    if (connection.execute(statement)).rowcount == len(states):
        return
    # A state counted for the first time (the migration seeds every state known then): the
    # rows that existed took their share above; a missing one starts at its own delta.
    present = set(
        (
            connection.execute(select(order_counts.c.state).where(order_counts.c.state.in_(states)))
        ).scalars()
    )
    for state in states:
        if state in present:
            continue
        own = times if state == after.value else -times
        inserted = connection.execute(
            insert_or_ignore(connection, order_counts, "state").values(state=state, orders=own)
        )
        if not inserted.rowcount:  # another transaction created it meanwhile
            connection.execute(
                update(order_counts)
                .where(order_counts.c.state == state)
                .values(orders=order_counts.c.orders + own)
            )
