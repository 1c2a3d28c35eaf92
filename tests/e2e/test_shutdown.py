"""Stopping: in-flight work finishes or goes back to the queue; nothing is lost or doubled."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from connector.app import Daemon, StartupError
from connector.devstack import LocalStack, StackOptions, wait_until
from connector.domain.jobs import Job, JobKind, JobState
from connector.domain.lifecycle import OrderState
from connector.sandbox.faults import FaultRule
from connector.sandbox.runner import listening_socket
from connector.store import job_queries, orders
from connector.store.database import Database
from tests.e2e.conftest import MakeStack


async def placement_jobs(database: Database, uid: str | None = None) -> list[Job]:
    async with database.engine.connect() as c:
        found = await job_queries.list_jobs(c, order_uid=uid)
    return [j for j in found if j.kind is JobKind.PLACE_ORDER]


async def placement_running(stack: LocalStack) -> bool:
    return any(j.state is JobState.RUNNING for j in await placement_jobs(stack.daemon.database))


async def test_in_flight_work_finishes_within_the_grace_period(make_stack: MakeStack) -> None:
    stack = await make_stack(worker={"shutdown_grace_seconds": 10.0})
    stack.sandbox.empower.faults.add(
        FaultRule(method="POST", path="/v1/orders", hold_response_seconds=1.0)
    )
    [uid] = stack.push_orders(1)
    assert await wait_until(lambda: placement_running(stack), within=10, interval=0.01)
    await stack.daemon.stop()  # SIGTERM's path
    reopened = Database(stack.settings.database_url)
    try:
        [place] = await placement_jobs(reopened, uid)
        async with reopened.engine.connect() as c:
            record = await orders.require_order(c, uid)
    finally:
        await reopened.close()
    assert place.state is JobState.DONE
    assert record.state is OrderState.PLACED
    assert len(stack.sandbox.empower.orders_for(uid)) == 1


async def test_work_unfinished_after_the_grace_period_is_handed_back_and_done_once(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack(worker={"shutdown_grace_seconds": 0.2})
    # Only the connector's own lookup can prevent a second order here.
    stack.sandbox.empower.honour_idempotency_keys = False
    stack.sandbox.empower.refuse_duplicate_orders = False
    stack.sandbox.empower.faults.add(
        FaultRule(method="POST", path="/v1/orders", hold_response_seconds=2.0)
    )
    [uid] = stack.push_orders(1)
    assert await wait_until(lambda: placement_running(stack), within=10, interval=0.01)
    await asyncio.sleep(0.2)  # the create has reached Empower; its answer is held back
    await stack.restart_daemon()  # the placement is cut off and handed back
    records = await stack.wait_for_states([uid], {OrderState.DELIVERED})
    assert records[uid].state is OrderState.DELIVERED
    assert len(stack.sandbox.empower.orders_for(uid)) == 1
    [place] = await placement_jobs(stack.daemon.database, uid)
    assert place.state is JobState.DONE
    assert place.attempts == 1  # handing back at shutdown spent no attempt


async def test_readiness_turns_false_while_webhooks_are_still_taken(make_stack: MakeStack) -> None:
    stack = await make_stack()
    stack.daemon.settings.http.shutdown_delay_seconds = 1.5
    url = stack.daemon.url
    stopping = asyncio.create_task(stack.daemon.stop())
    async with aiohttp.ClientSession() as session:

        async def unready() -> bool:
            async with session.get(f"{url}/readyz") as response:
                return response.status == 503

        assert await wait_until(unready, within=1, interval=0.02)
        [uid] = stack.push_orders(1)  # its webhook still arrives during the delay

        async def recorded() -> bool:
            async with stack.daemon.database.engine.connect() as c:
                return await orders.get_order(c, uid) is not None

        assert await wait_until(recorded, within=1.4, interval=0.02)
    await stopping


async def test_a_second_process_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    async with LocalStack(tmp_path, StackOptions()) as stack:
        second = Daemon(stack.settings, listen_socket=listening_socket("127.0.0.1", 0))
        with pytest.raises(StartupError, match="another connector process is using"):
            await second.start()
        await second.database.close()
        await second.rxscale.close()
        await second.empower.close()
