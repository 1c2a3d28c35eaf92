"""Three replicas with one RxScale key share its rate limit through PostgreSQL: a backlog
drains at close to the key's ceiling and RxScale never answers 429."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connector.devstack import wait_until
from connector.sandbox.empower_records import FulfilmentScript
from connector.sandbox.empower_server import EmpowerSandbox
from connector.sandbox.ratelimit import SlidingWindowLimit
from connector.sandbox.rxscale_server import RxScaleSandbox
from tests.e2e.processes import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ORDERS = 60
PER_SECOND = 10


@pytest.fixture
async def cluster(tmp_path: Path, postgres_url: str) -> AsyncIterator[Cluster]:
    running = await Cluster.start(
        tmp_path,
        postgres_url,
        replicas=3,
        rxscale=RxScaleSandbox(
            rate_limit=SlidingWindowLimit(per_second=PER_SECOND, per_minute=600)
        ),
        empower=EmpowerSandbox(fulfilment=FulfilmentScript(enabled=False)),
        rate_limited=True,
    )
    try:
        yield running
    finally:
        await running.close()


async def test_three_replicas_drain_a_backlog_within_one_keys_limit(cluster: Cluster) -> None:
    rxscale = cluster.sandbox.rxscale
    assert rxscale.rate_limit is not None
    began = time.monotonic()
    uids = [rxscale.add_order() for _ in range(ORDERS)]

    async def all_in_progress() -> bool:
        return all(rxscale.orders[uid].status == "in-progress" for uid in uids)

    assert await wait_until(all_in_progress, within=120, interval=0.1)
    elapsed = time.monotonic() - began
    calls = rxscale.count_requests("GET", "/pharmacy_orders/") + rxscale.count_requests(
        "PATCH", "/pharmacy_orders/"
    )
    assert rxscale.rate_limit.refused == 0  # not one 429, with three replicas at it
    # Each replica alone would be allowed the whole budget: together they must share it,
    # and still use most of it.
    assert calls / elapsed >= 0.9 * PER_SECOND, (calls, elapsed)
