"""Work enqueued by one replica is started by another at once (PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connector.devstack import LocalStack, StackOptions, wait_until
from connector.store.database import Database
from connector.store.migrate import upgrade_to_head

pytestmark = pytest.mark.postgres


async def test_a_replica_with_a_slow_poll_is_woken_by_another_replicas_work(
    postgres_url: str, tmp_path: Path
) -> None:
    database = Database(postgres_url)
    await upgrade_to_head(database)
    await database.close()
    # The replica the partners' webhooks reach records them only (no worker); the other
    # polls so slowly that only a notification can explain a prompt start.
    options = StackOptions(database_url=postgres_url)
    options.worker = {**options.worker, "concurrency": 0}
    async with LocalStack(tmp_path, options) as stack:
        worker = await stack.add_replica(concurrency=4, idle_seconds=120)
        listener = worker.listener
        assert listener is not None

        async def listening() -> bool:
            return listener.connected.is_set()

        assert await wait_until(listening, within=10)
        await asyncio.sleep(0.5)  # the worker has claimed nothing and gone to sleep
        [uid] = stack.push_orders(1)

        async def completed() -> bool:
            return stack.sandbox.rxscale.orders[uid].status == "completed"

        # Five jobs in turn, each enqueued by a webhook to the web-only replica or by the
        # worker itself, each started without waiting for a 120 s poll.
        assert await wait_until(completed, within=30)
        assert listener.notifications >= 3
        assert stack.daemon.worker.completed == 0
        assert worker.worker.completed >= 5
