"""The rate limit replicas share on PostgreSQL (connector.store.rate_limit), on a real
server: two limiters stand for two replicas with one key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from connector.store.database import Database
from connector.store.migrate import upgrade_to_head
from connector.store.rate_limit import SharedRateLimiter, Window

pytestmark = pytest.mark.postgres


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[Database]:
    db = Database(postgres_url)
    await upgrade_to_head(db)
    try:
        yield db
    finally:
        await db.close()


async def test_two_replicas_together_stay_within_one_budget(database: Database) -> None:
    replicas = [SharedRateLimiter(database, "rxscale", [Window(5, 1.0)]) for _ in range(2)]
    starts: list[float] = []

    async def call(limiter: SharedRateLimiter) -> None:
        async with limiter.slot():
            starts.append(time.monotonic())
            await asyncio.sleep(0.05)

    began = time.monotonic()
    await asyncio.gather(*(call(replicas[n % 2]) for n in range(15)))
    elapsed = time.monotonic() - began
    starts.sort()
    # No second holds more than five starts, whichever replica made them.
    for index, start in enumerate(starts):
        assert sum(1 for s in starts[index:] if s < start + 1.0) <= 5
    assert elapsed >= 2.0  # 15 at 5 a second: three windows
    assert elapsed < 6.0  # and not much slower than that


async def test_a_slot_left_by_a_dead_replica_stops_counting(database: Database) -> None:
    async with database.transaction() as c:
        for _ in range(3):  # in flight for ever: their replica died mid-request
            await c.execute(
                text(
                    "INSERT INTO rate_slots (bucket, started_at) "
                    "VALUES ('rxscale', clock_timestamp() - interval '10 seconds')"
                )
            )
    limiter = SharedRateLimiter(database, "rxscale", [Window(3, 1.0)], stale_after_seconds=5)
    async with asyncio.timeout(2):
        async with limiter.slot():
            pass


async def test_slots_in_flight_count_until_they_finish(database: Database) -> None:
    limiter = SharedRateLimiter(database, "rxscale", [Window(2, 1.0)], stale_after_seconds=60)
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with limiter.slot():
            held.set()
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(2)]
    await held.wait()
    await asyncio.sleep(0.1)
    third = asyncio.create_task(limiter.slot().__aenter__())
    await asyncio.sleep(0.5)
    assert not third.done()  # two in flight fill the budget
    release.set()
    await asyncio.gather(*holders)
    await asyncio.wait_for(third, timeout=3)  # a window after they finished
