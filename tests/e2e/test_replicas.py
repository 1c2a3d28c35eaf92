"""Several replicas on one PostgreSQL database, as real processes, including kills.

The Empower sandbox here neither honours idempotency keys nor refuses a second order for
the same external_order_id, so a double placement would show as two Empower orders: what
keeps every order single is the connector's own queue discipline and its lookup before
every placement.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connector.devstack import wait_until
from connector.domain.jobs import Job, JobKind, JobState
from connector.sandbox.empower_records import FulfilmentScript
from connector.sandbox.empower_server import EmpowerSandbox
from connector.sandbox.faults import FaultRule
from connector.store import job_queries, order_queries
from connector.store.database import Database
from connector.store.migrate import head_revisions
from tests.e2e.processes import Cluster, base_env, run_connector

HEAD = ", ".join(sorted(head_revisions()))

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ORDERS = 300


@pytest.fixture
async def cluster(tmp_path: Path, postgres_url: str) -> AsyncIterator[Cluster]:
    empower = EmpowerSandbox(
        honour_idempotency_keys=False,
        refuse_duplicate_orders=False,
        fulfilment=FulfilmentScript(processing_after=0.2, ship_after=0.5, deliver_after=0.8),
    )
    running = await Cluster.start(tmp_path, postgres_url, replicas=3, empower=empower)
    running.extra["database_url"] = postgres_url
    try:
        yield running
    finally:
        await running.close()


async def all_completed(cluster: Cluster, uids: list[str], within: float) -> bool:
    async def done() -> bool:
        return all(cluster.sandbox.rxscale.orders[uid].status == "completed" for uid in uids)

    return await wait_until(done, within=within, interval=0.25)


async def assert_each_order_placed_once_and_completed(cluster: Cluster, uids: list[str]) -> None:
    empower = cluster.sandbox.empower
    placements = Counter(order.external_order_id for order in empower.orders.values())
    assert set(placements) == set(uids)
    assert set(placements.values()) == {1}, [u for u, n in placements.items() if n > 1]
    for uid in uids:
        at_rxscale = cluster.sandbox.rxscale.orders[uid]
        assert at_rxscale.status == "completed"
        assert at_rxscale.completion is not None
        assert at_rxscale.completion["tracking_number"]
        assert cluster.sandbox.rxscale.count_requests("PATCH", f"{uid}/complete_order", 200) == 1
    database = Database(cluster.extra["database_url"])
    try:
        async with database.engine.connect() as c:
            mapped = {r.rxscale_uid: r for r in await order_queries.list_orders(c, limit=10_000)}
            stuck = await job_queries.list_jobs(c, states=[JobState.DEAD, JobState.FAILED])
    finally:
        await database.close()
    assert set(mapped) == set(uids)
    assert all(mapped[u].empower_order_id == empower.orders_for(u)[0].order_id for u in uids)
    assert stuck == []


def work_done_by(cluster: Cluster) -> dict[str, Counter[str]]:
    return {
        replica.name: Counter(event["event"] for event in replica.events())
        for replica in cluster.replicas
    }


async def test_three_replicas_place_every_order_exactly_once(cluster: Cluster) -> None:
    uids = [cluster.sandbox.rxscale.add_order() for _ in range(ORDERS)]
    assert await all_completed(cluster, uids, within=180), "not every order completed"
    await assert_each_order_placed_once_and_completed(cluster, uids)
    done = work_done_by(cluster)
    for name, events in done.items():
        assert events["webhook_received"] > 0, f"{name} received no webhooks"
        assert events["job_succeeded"] > 0, f"{name} ran no jobs"
    for replica in cluster.replicas:
        assert await replica.terminate() == 0


async def test_a_replica_killed_mid_run_loses_and_doubles_nothing(cluster: Cluster) -> None:
    # Empower creates each order at once but holds its answer for a while: the worst moment
    # to die, with the order placed and the connector not yet knowing it.
    cluster.sandbox.empower.faults.add(
        FaultRule(method="POST", path="/v1/orders", hold_response_seconds=3.0, times=None)
    )
    uids = [cluster.sandbox.rxscale.add_order() for _ in range(ORDERS)]
    victim = cluster.replicas[1]
    [ready] = [e for e in victim.events() if e["event"] == "daemon_ready"]
    database = Database(cluster.extra["database_url"])
    held: list[Job] = []

    async def victim_holds(placed_only: bool = False) -> bool:
        async with database.engine.connect() as c:
            running = await job_queries.list_jobs(c, states=[JobState.RUNNING])
        held[:] = [
            j
            for j in running
            if j.lease_owner == ready["worker_id"]
            and (
                not placed_only
                or (
                    j.kind is JobKind.PLACE_ORDER
                    and j.order_uid is not None
                    and cluster.sandbox.empower.orders_for(j.order_uid)
                )
            )
        ]
        return bool(held)

    try:
        assert await wait_until(lambda: victim_holds(placed_only=True), within=60, interval=0.01)
        await victim.kill()  # SIGKILL mid-placement: no drain, no release, leases left to lapse
        await victim_holds()  # everything it held when it died; a dead process changes nothing
        # Only placements Empower already holds were orphaned mid-flight: one the victim had
        # claimed but not yet sent is simply placed afresh by the next owner.
        orphaned_placements = [
            j.order_uid
            for j in held
            if j.kind is JobKind.PLACE_ORDER
            and j.order_uid
            and cluster.sandbox.empower.orders_for(j.order_uid)
        ]
        assert orphaned_placements
        cluster.sandbox.empower.faults.clear()
        await asyncio.sleep(1.0)
        await victim.start()
        await victim.wait_ready()
        assert await all_completed(cluster, uids, within=180), "not every order completed"
        async with database.engine.connect() as c:
            taken_over = [await job_queries.get_job(c, job.id) for job in held]
            adoptions = {
                uid: [h.kind for h in await order_queries.order_history(c, uid)]
                for uid in orphaned_placements
            }
    finally:
        await database.close()
    await assert_each_order_placed_once_and_completed(cluster, uids)
    # The jobs the victim was running when it died were run again after their lease lapsed,
    # and each placement it died in found the order Empower already had.
    assert all(j is not None and j.state is JobState.DONE for j in taken_over)
    assert all(j is not None and j.attempts >= 2 for j in taken_over)
    assert all("empower_order_adopted" in kinds for kinds in adoptions.values()), adoptions
    assert victim.starts == 2
    for replica in cluster.replicas:
        assert await replica.terminate() == 0


async def test_replicas_migrating_at_once_all_succeed(tmp_path: Path, postgres_url: str) -> None:
    env = base_env(CONNECTOR_DATABASE_URL=postgres_url)
    results = await asyncio.gather(
        *(run_connector("migrate", env=env, cwd=tmp_path) for _ in range(4))
    )
    assert [code for code, _, _ in results] == [0, 0, 0, 0], results
    assert all(out.strip() == f"database is at revision {HEAD}" for _, out, _ in results)
