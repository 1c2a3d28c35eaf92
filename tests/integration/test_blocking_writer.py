"""`Database.write_blocking` (connector.store.database, connector.store.sqlite_writer): a
transaction written as plain blocking code, on SQLite's blocking writer or on PostgreSQL's
async connection. It commits as a whole or not at all, takes its turn with the async
writer, and on SQLite waits for another process's write lock without holding up the
event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from connector.domain.lifecycle import OrderState
from connector.store import order_counts, orders, sqlite_writer
from connector.store.database import Database, StoreUnavailable
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
    # The writer is fit for the next transaction.
    await database.write_blocking(lambda c: orders.create_orders_if_absent(c, ["po-2"], NOW))
    assert await mapped(database) == {"po-2"}


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


async def ticks_while(awaitable: asyncio.Future[object] | asyncio.Task[object]) -> int:
    """How many 10 ms sleeps the event loop completed while `awaitable` was pending."""
    ticks = 0
    while not awaitable.done():
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


def another_process_writing(database: Database) -> sqlite3.Connection:
    """A second connection to the file holding its write lock, as an operator's command
    writing to the same database would."""
    path = database.sqlite_file
    if path is None:
        pytest.skip("SQLite's write lock")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


async def test_a_write_waits_for_another_processs_lock_while_the_loop_runs_on(
    database: Database,
) -> None:
    other = another_process_writing(database)
    held_for = 0.4
    began = time.monotonic()
    writing = asyncio.ensure_future(
        database.write_blocking(lambda c: orders.create_orders_if_absent(c, ["po-1"], NOW))
    )
    asyncio.get_running_loop().call_later(held_for, other.commit)
    ticks = await ticks_while(writing)
    assert await writing == {"po-1"}
    assert time.monotonic() - began >= held_for  # it did wait for the lock
    assert ticks >= 0.5 * held_for / 0.01  # and the loop kept running meanwhile
    other.close()
    assert await mapped(database) == {"po-1"}


async def test_a_lock_held_past_the_busy_timeout_is_unavailable_then_writes_resume(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_writer, "BUSY_TIMEOUT_MS", 200)
    other = another_process_writing(database)
    with pytest.raises(StoreUnavailable):
        await database.write_blocking(lambda c: orders.create_orders_if_absent(c, ["po-1"], NOW))
    other.commit()
    other.close()
    await database.write_blocking(lambda c: orders.create_orders_if_absent(c, ["po-2"], NOW))
    assert await mapped(database) == {"po-2"}


@pytest.mark.parametrize("one_statement", [False, True])
async def test_a_statement_that_fails_half_way_leaves_nothing(
    database: Database, one_statement: bool
) -> None:
    """Also outside a transaction block (`one_statement` on PostgreSQL): the statement
    is all or nothing."""
    half_then_fail = text(
        "INSERT INTO orders (rxscale_uid, state, placement_generation,"
        " empower_prescription_tokens, created_at, updated_at) VALUES"
        " ('po-1', 'received', 0, '[]', :now, :now),"
        " (NULL, 'received', 0, '[]', :now, :now)"  # NOT NULL: the second row fails
    )
    with pytest.raises(IntegrityError):
        await database.write_blocking(
            lambda c: c.execute(half_then_fail, {"now": NOW}), one_statement=one_statement
        )
    assert await mapped(database) == set()


async def test_a_write_cancelled_while_waiting_for_the_lock_leaves_the_writer_fit(
    database: Database,
) -> None:
    other = another_process_writing(database)
    waiting = asyncio.ensure_future(
        database.write_blocking(lambda c: orders.create_orders_if_absent(c, ["po-1"], NOW))
    )
    await asyncio.sleep(0.1)
    waiting.cancel()
    asyncio.get_running_loop().call_later(0.1, other.commit)
    with pytest.raises(asyncio.CancelledError):
        await waiting  # returns once the writer gave back the lock it may have taken
    other.close()
    await database.write_blocking(lambda c: orders.create_orders_if_absent(c, ["po-2"], NOW))
    assert await mapped(database) == {"po-2"}
