"""redrive (connector.work.redrive): work that died or vanished gets another run."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from connector.domain.jobs import JobKind, JobState
from connector.domain.lifecycle import OrderState
from connector.domain.workflow import order_step
from connector.store import job_queries, jobs
from connector.store.tables import jobs_table
from connector.work.redrive import Redrive
from tests.handlers.conftest import Bench

REDRIVE = JobKind.REDRIVE


async def with_job(bench: Bench, uid: str, kind: JobKind, state: JobState) -> int:
    """A job of the order, left in `state` (dead, failed) or just queued."""
    now = datetime.now(UTC)
    async with bench.database.transaction() as c:
        [job_id] = await jobs.enqueue(c, [order_step(kind, uid, 0)], now)
        ended = {"state": state.value, "first_failed_at": now, "last_error": "HTTP 503"}
        await c.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(**ended))
    return job_id


async def test_a_dead_job_of_an_order_not_at_rest_runs_again(bench: Bench) -> None:
    record = await bench.order(OrderState.ACCEPTED)
    dead = await with_job(bench, record.rxscale_uid, JobKind.PLACE_ORDER, JobState.DEAD)
    outcome = await Redrive(bench.deps).run(bench.job(REDRIVE, None, {"bucket": 1}))
    assert outcome.requeue == (dead,)
    assert outcome.follow_ups == ()
    assert await bench.commit(outcome) == [dead]
    async with bench.database.connect() as c:
        job = await job_queries.get_job(c, dead)
    assert job is not None
    assert (job.state, job.redrives, job.first_failed_at) == (JobState.QUEUED, 1, None)


async def test_an_order_whose_job_vanished_gets_its_step_again(bench: Bench) -> None:
    record = await bench.order(OrderState.ACCEPTED)  # no job at all
    outcome = await Redrive(bench.deps).run(bench.job(REDRIVE, None, {"bucket": 7}))
    [step] = outcome.follow_ups
    assert (step.kind, step.order_uid) == (JobKind.PLACE_ORDER, record.rxscale_uid)
    assert step.unique_key == f"place:{record.rxscale_uid}:g0:redrive:7"
    assert len(await bench.commit(outcome)) == 1
    again = await Redrive(bench.deps).run(bench.job(REDRIVE, None, {"bucket": 7}))
    assert again.follow_ups == ()  # it has a live job now


async def test_orders_at_rest_waiting_or_with_live_work_are_left_alone(bench: Bench) -> None:
    waiting = await bench.order(OrderState.IN_PROGRESS)  # Empower's news will move it
    cancelled = await bench.order(OrderState.CANCELLED)
    await with_job(bench, cancelled.rxscale_uid, JobKind.CANCEL_ORDER, JobState.DEAD)
    busy = await bench.order(OrderState.PLACED)
    await with_job(bench, busy.rxscale_uid, JobKind.MARK_IN_PROGRESS, JobState.QUEUED)
    refused = await bench.order(OrderState.RECEIVED)
    await with_job(bench, refused.rxscale_uid, JobKind.ACCEPT_ORDER, JobState.FAILED)
    outcome = await Redrive(bench.deps).run(bench.job(REDRIVE, None, {"bucket": 1}))
    assert outcome.requeue == ()
    assert outcome.follow_ups == ()
    assert waiting.state is OrderState.IN_PROGRESS


async def test_a_dead_cancellation_of_an_order_in_progress_runs_again(bench: Bench) -> None:
    record = await bench.order(OrderState.IN_PROGRESS, rxscale_status="cancelled")
    dead = await with_job(bench, record.rxscale_uid, JobKind.CANCEL_ORDER, JobState.DEAD)
    outcome = await Redrive(bench.deps).run(bench.job(REDRIVE, None, {"bucket": 1}))
    assert outcome.requeue == (dead,)
