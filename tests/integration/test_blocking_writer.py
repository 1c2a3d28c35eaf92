"""`Database.write_blocking` (connector.store.database): a transaction written as plain
blocking code, in SQLite's writer thread or on PostgreSQL's async connection. It commits
as a whole or not at all, and takes its turn with the async writer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from connector.domain.lifecycle import OrderState
from connector.store import order_counts, orders
from connector.store.database import Database
from connector.store.migrate import upgrade_to_head
from connector.store.tables import orders_table

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


async def mapped(database: Database) -> set[str]:
    async with database.connect() as c:
        return set((await c.execute(select(orders_table.c.rxscale_uid))).scalars())


async def test_a_blocking_write_commits_and_readers_see_it(database: Database) -> None:
    created = await database.write_blocking(
        lambda c: orders.create_orders_if_absent(c, ["po-1", "po-2"], NOW)
    )
    assert created == {"po-1", "po-2"}
    assert await mapped(database) == {"po-1", "po-2"}
    async with database.connect() as c:
        assert (await order_counts.count_by_state(c))[OrderState.RECEIVED] == 2


async def test_a_blocking_write_that_fails_leaves_nothing(database: Database) -> None:
    def half_then_fail(connection: Connection) -> None:
        orders.create_orders_if_absent(connection, ["po-1"], NOW)
        connection.execute(insert(orders_table).values(rxscale_uid=None))  # NOT NULL

    with pytest.raises(IntegrityError):
        await database.write_blocking(half_then_fail)
    assert await mapped(database) == set()
    async with database.connect() as c:
        assert (await order_counts.count_by_state(c)).get(OrderState.RECEIVED, 0) == 0


async def test_blocking_and_async_writers_take_turns_without_losing_a_write(
    database: Database,
) -> None:
    async def by_blocking(n: int) -> None:
        await database.write_blocking(
            lambda c: orders.create_orders_if_absent(c, [f"po-b{n}"], NOW)
        )

    async def by_async(n: int) -> None:
        async with database.transaction() as c:
            assert await orders.create_order_if_absent(c, f"po-a{n}", NOW)

    await asyncio.gather(*(f(n) for n in range(40) for f in (by_blocking, by_async)))
    assert len(await mapped(database)) == 80
    async with database.connect() as c:
        assert (await order_counts.count_by_state(c))[OrderState.RECEIVED] == 80
        total = await c.scalar(select(func.count()).select_from(orders_table))
    assert total == 80


async def test_a_closed_database_can_write_blocking_again(database_url: str) -> None:
    database = Database(database_url)
    try:
        await upgrade_to_head(database)
        await database.write_blocking(lambda c: orders.create_orders_if_absent(c, ["po-1"], NOW))
        await database.close()
        await database.write_blocking(lambda c: orders.create_orders_if_absent(c, ["po-2"], NOW))
        assert await mapped(database) == {"po-1", "po-2"}
    finally:
        await database.close()
