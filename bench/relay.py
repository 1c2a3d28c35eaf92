"""A backlog through the relay under RxScale's real rate limit: how fast it drains, and
how many RxScale calls each order costs before shipment.

All orders are created at RxScale at once; each arrives by webhook. The clock stops when
RxScale shows every order `in-progress` (placed at Empower; shipment is left out, so that
the calls before shipment are counted alone). The sandbox enforces 10 requests/s and
600/min, and the connector keeps the same limit, shared by all replicas on PostgreSQL.

The **reference** is the key's ceiling: 10 requests/s divided by the calls an order needs
(three: GET, `pending review`, `in-progress`), so 3.33 orders/s. The figure is the share
of that ceiling the drain reached, and of the key's 10 calls/s the connector used.

    .venv/bin/python -m bench relay [--orders 200] [--database sqlite|postgresql]
                                    [--replicas 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import empty_postgres
from connector.devstack import wait_until
from connector.sandbox.empower_records import FulfilmentScript
from connector.sandbox.empower_server import EmpowerSandbox
from connector.sandbox.ratelimit import SlidingWindowLimit
from connector.sandbox.rxscale_server import RxScaleSandbox
from tests.e2e.processes import Cluster

PER_SECOND = 10
CALLS_PER_ORDER = 3


async def drain(orders: int, database_url: str, replicas: int, directory: Path) -> dict[str, Any]:
    limit = SlidingWindowLimit(per_second=PER_SECOND, per_minute=600)
    cluster = await Cluster.start(
        directory,
        database_url,
        replicas=replicas,
        rxscale=RxScaleSandbox(rate_limit=limit),
        empower=EmpowerSandbox(fulfilment=FulfilmentScript(enabled=False)),
        # The default lease: the test cluster's short one expires while a job waits its
        # turn for the shared limit, and the job then runs again elsewhere.
        worker={"concurrency": "8", "lease_seconds": "60"},
        rate_limited=True,
    )
    try:
        rxscale = cluster.sandbox.rxscale
        await asyncio.sleep(61)  # start-up calls (stock sync, reconciliation) leave the window
        before = len(rxscale.requests.seen)
        began = time.monotonic()
        uids = [rxscale.add_order() for _ in range(orders)]

        async def all_in_progress() -> bool:
            return all(rxscale.orders[uid].status == "in-progress" for uid in uids)

        if not await wait_until(all_in_progress, within=orders * 2.0, interval=0.05):
            raise RuntimeError("the backlog did not drain")
        elapsed = time.monotonic() - began
        seen = rxscale.requests.seen[before:]
        per_order = Counter(
            sum(1 for s in seen if f"/pharmacy_orders/{uid}" in s.path and s.status < 400)
            for uid in uids
        )
        refused = sum(1 for s in seen if s.status == 429)
        # For orders that cost more than three calls: which calls were extra.
        extra = Counter(
            f"{s.method} {s.path.rsplit('/', 1)[-1] if s.method == 'PATCH' else 'order'}"
            for uid in uids
            if sum(1 for s in seen if f"/pharmacy_orders/{uid}" in s.path) > CALLS_PER_ORDER
            for s in seen
            if f"/pharmacy_orders/{uid}" in s.path
        )
        rate = orders / elapsed
        ceiling = PER_SECOND / CALLS_PER_ORDER
        return {
            "database": "postgresql" if database_url.startswith("postgresql") else "sqlite",
            "replicas": replicas,
            "orders": orders,
            "seconds": round(elapsed, 1),
            "orders_per_second": round(rate, 2),
            "share_of_ceiling": round(rate / ceiling, 3),
            "rxscale_calls_per_second": round(len(seen) / elapsed, 2),
            "rxscale_calls_per_order": {str(k): v for k, v in sorted(per_order.items())},
            "calls_of_orders_that_needed_more": dict(sorted(extra.items())),
            "orders_that_needed_more": [
                uid
                for uid in uids
                if sum(1 for s in seen if f"/pharmacy_orders/{uid}" in s.path) > CALLS_PER_ORDER
            ],
            "rxscale_429": refused,
        }
    finally:
        await cluster.close()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        if args.keep is not None:
            directory = args.keep
            directory.mkdir(parents=True, exist_ok=True)
        if args.database == "sqlite":
            if args.replicas != 1:
                parser.error("SQLite runs one process")
            result = await drain(
                args.orders, f"sqlite:///{directory / 'connector.db'}", 1, directory
            )
        else:
            async with empty_postgres() as url:
                if url is None:
                    parser.error("set CONNECTOR_TEST_DATABASE_URL for PostgreSQL")
                result = await drain(args.orders, url, args.replicas, directory)
    print(json.dumps(result, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0
