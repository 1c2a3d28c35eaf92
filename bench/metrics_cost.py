"""What one scrape of /metrics costs with a year of orders, against a day's.

The tables are filled with SMALL and then LARGE rows each (orders delivered, their
history, done jobs, dedupe rows; a few dozen orders in flight), and GET /metrics is timed
through the real web application. The reference, measured in the same run on the same
database, is what the scrape used to read: orders and jobs counted by state over the
whole tables.

    .venv/bin/python bench/metrics_cost.py [--large 500000] [--repeat 15]

PostgreSQL is measured too when CONNECTOR_TEST_DATABASE_URL names a server.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, insert, select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import migrated_postgres
from connector.domain.clock import SystemClock
from connector.domain.jobs import JobState
from connector.domain.lifecycle import OrderState
from connector.metrics import Metrics
from connector.receive.empower import EmpowerReceiver
from connector.receive.rxscale import RxScaleReceiver
from connector.store.database import Database
from connector.store.migrate import head_revisions, upgrade_to_head
from connector.store.tables import (
    jobs_table,
    order_counts_table,
    order_events_table,
    orders_table,
    received_webhooks_table,
)
from connector.web.context import ServiceState, WebContext
from connector.web.server import build_web_app

SMALL = 500
CHUNK = 5000
IN_FLIGHT = 40


async def fill(database: Database, rows: int) -> None:
    """`rows` delivered orders with one history row, one done job and one dedupe row each,
    plus a few orders in flight with a queued job."""
    then = datetime.now(UTC) - timedelta(days=30)
    for start in range(0, rows, CHUNK):
        ids = range(start, min(start + CHUNK, rows))
        async with database.transaction() as c:
            await c.execute(
                insert(orders_table),
                [
                    {
                        "rxscale_uid": f"po-{n}",
                        "state": OrderState.DELIVERED.value,
                        "placement_generation": 0,
                        "empower_prescription_tokens": [],
                        "empower_order_id": f"ord_{n}",
                        "empower_request_id": f"fill_request_{n}",
                        "created_at": then,
                        "updated_at": then,
                    }
                    for n in ids
                ],
            )
            await c.execute(
                insert(order_events_table),
                [
                    {
                        "rxscale_uid": f"po-{n}",
                        "kind": "deliver",
                        "detail": {},
                        "occurred_at": then,
                    }
                    for n in ids
                ],
            )
            await c.execute(
                insert(jobs_table),
                [
                    {
                        "kind": "accept_order",
                        "order_uid": f"po-{n}",
                        "state": JobState.DONE.value,
                        "payload": {},
                        "unique_key": f"accept:po-{n}:g0",
                        "attempts": 1,
                        "run_at": then,
                        "created_at": then,
                        "updated_at": then,
                        "finished_at": then,
                    }
                    for n in ids
                ],
            )
            await c.execute(
                insert(received_webhooks_table),
                [
                    {
                        "source": "rxscale",
                        "dedupe_key": f"{n:064d}",
                        "event_type": "pharmacy_order_created",
                        "subject": f"po-{n}",
                        "outcome": "enqueued",
                        "received_at": then,
                    }
                    for n in ids
                ],
            )
    async with database.transaction() as c:
        await c.execute(
            update(order_counts_table)
            .where(order_counts_table.c.state == OrderState.DELIVERED.value)
            .values(orders=rows)
        )
        for n in range(IN_FLIGHT):
            await c.execute(
                insert(jobs_table).values(
                    kind="mark_in_progress",
                    order_uid=f"po-live-{n}",
                    state=JobState.QUEUED.value,
                    payload={},
                    attempts=0,
                    run_at=then,
                    created_at=then,
                    updated_at=then,
                )
            )


async def whole_table_counts(database: Database) -> None:
    """The reference: what a scrape read before, orders and jobs grouped over all rows."""
    async with database.connect() as c:
        orders_by_state = select(orders_table.c.state, func.count()).group_by(orders_table.c.state)
        jobs_by_state = select(jobs_table.c.state, func.count()).group_by(jobs_table.c.state)
        (await c.execute(orders_by_state)).all()
        (await c.execute(jobs_by_state)).all()


async def median_seconds(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    await call()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def measure(url: str, rows: int, repeat: int) -> tuple[float, float]:
    """(median scrape, median whole-table reference) in seconds, with `rows` rows."""
    database = Database(url)
    await upgrade_to_head(database)
    await fill(database, rows)
    context = WebContext(
        database=database,
        rxscale=RxScaleReceiver(database, ["bench-secret"]),
        empower=EmpowerReceiver(database, ["bench-key"]),
        clock=SystemClock(),
        on_enqueued=lambda: None,
        state=ServiceState(schema_heads=head_revisions()),
        max_body_bytes=1 << 20,
        metrics=Metrics(),
    )
    client = TestClient(TestServer(build_web_app(context)))
    await client.start_server()

    async def scrape() -> None:
        response = await client.get("/metrics")
        assert response.status == 200
        await response.read()

    try:
        return (
            await median_seconds(scrape, repeat),
            await median_seconds(lambda: whole_table_counts(database), repeat),
        )
    finally:
        await client.close()
        await database.close()


async def compare(name: str, make_url: Callable[[], Any], large: int, repeat: int) -> None:
    figures = {}
    for rows in (SMALL, large):
        async with make_url() as url:
            figures[rows] = await measure(url, rows, repeat)
    (scrape_small, ref_small), (scrape_large, ref_large) = figures[SMALL], figures[large]
    print(
        f"{name:10}  scrape {scrape_small * 1000:7.2f} ms at {SMALL:>7,} rows, "
        f"{scrape_large * 1000:7.2f} ms at {large:,}: ratio {scrape_large / scrape_small:5.2f}"
        f"   |  whole-table counts {ref_small * 1000:7.2f} -> {ref_large * 1000:8.2f} ms: "
        f"ratio {ref_large / ref_small:6.1f}"
    )


class SqliteFile:
    def __init__(self) -> None:
        self._scratch = tempfile.TemporaryDirectory()

    async def __aenter__(self) -> str:
        return f"sqlite:///{Path(self._scratch.name) / 'bench.db'}"

    async def __aexit__(self, *_: object) -> None:
        self._scratch.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"rows per table: {SMALL:,} and {args.large:,}; median of {args.repeat} scrapes")
    await compare("sqlite", SqliteFile, args.large, args.repeat)

    async with migrated_postgres() as probe:
        if probe is None:
            print("postgresql  skipped: set CONNECTOR_TEST_DATABASE_URL to measure it")
            return
    await compare("postgresql", migrated_postgres, args.large, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
