"""The worker (connector.work.worker, connector.work.failures) on a real database, with
handlers that are plain implementations of the handler interface."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from connector.devstack import wait_until
from connector.domain.clock import SystemClock
from connector.domain.errors import Partner, PartnerError, TransientError
from connector.domain.jobs import Job, JobKind, JobSpec, JobState
from connector.domain.outcome import NOTHING, Outcome
from connector.domain.retry import RetryPolicy
from connector.store import job_queries, jobs
from connector.store.database import Database
from connector.store.tables import jobs_table
from connector.work.worker import Worker, WorkerConfig


class Outage:
    """A handler whose partner is down: every run fails as a 503 would."""

    def __init__(self) -> None:
        self.runs = 0

    async def run(self, job: Job) -> Outcome:
        self.runs += 1
        raise TransientError(Partner.EMPOWER, "get_order", "HTTP 503", status=503)

    async def on_permanent_failure(self, job: Job, error: PartnerError) -> Outcome:
        return NOTHING


def worker(database: Database, handler: Outage, retry_for: float) -> Worker:
    policy = RetryPolicy(base_seconds=0.01, max_seconds=0.02, retry_for_seconds=retry_for)
    config = WorkerConfig(concurrency=1, lease_seconds=30, idle_seconds=0.05, retry=policy)
    return Worker(database, dict.fromkeys(JobKind, handler), config, SystemClock())


async def run_until(database: Database, w: Worker, job_id: int, state: JobState) -> Job:
    task = asyncio.create_task(w.run(grace_seconds=1))

    async def reached() -> bool:
        async with database.connect() as c:
            job = await job_queries.get_job(c, job_id)
        return job is not None and job.state is state

    try:
        assert await wait_until(reached, within=10)
    finally:
        w.stop()
        await task
    async with database.connect() as c:
        job = await job_queries.get_job(c, job_id)
    assert job is not None
    return job


async def enqueue(database: Database) -> int:
    async with database.transaction() as c:
        [job_id] = await jobs.enqueue(
            c, [JobSpec(JobKind.ACCEPT_ORDER, "po-1")], SystemClock().now()
        )
    return job_id


async def test_an_outage_is_retried_until_the_window_is_used_up(database: Database) -> None:
    handler = Outage()
    job_id = await enqueue(database)
    w = worker(database, handler, retry_for=0.5)
    job = await run_until(database, w, job_id, JobState.DEAD)
    assert handler.runs > 5  # far more attempts than the old count allowed, in half a second
    assert job.last_error is not None
    assert "still failing after" in job.last_error
    assert job.first_failed_at is not None
    assert job.first_failed_at <= SystemClock().now() - timedelta(seconds=0.5)


async def test_a_job_that_keeps_killing_its_worker_is_buried_unrun(database: Database) -> None:
    handler = Outage()
    job_id = await enqueue(database)
    async with database.transaction() as c:
        await c.execute(
            update(jobs_table).where(jobs_table.c.id == job_id).values(lease_expiries=6)
        )
    job = await run_until(
        database, worker(database, handler, retry_for=3600), job_id, JobState.DEAD
    )
    assert handler.runs == 0
    assert job.last_error is not None
    assert "vanished 6 times" in job.last_error


class Steps:
    """Accepting queues placing for the same order (as the transition table does); every
    run is noted with the task that ran it."""

    def __init__(self, *, place_after: float = 0.0) -> None:
        self.place_after = place_after
        self.ran: list[tuple[JobKind, str | None, asyncio.Task[object] | None]] = []

    async def run(self, job: Job) -> Outcome:
        self.ran.append((job.kind, job.order_uid, asyncio.current_task()))
        if job.kind is not JobKind.ACCEPT_ORDER:
            return NOTHING
        place = JobSpec(JobKind.PLACE_ORDER, job.order_uid, delay_seconds=self.place_after)
        return Outcome(follow_ups=(place,))

    async def on_permanent_failure(self, job: Job, error: PartnerError) -> Outcome:
        return NOTHING


async def run_jobs(database: Database, handler: Steps, count: int) -> None:
    config = WorkerConfig(concurrency=1, lease_seconds=30, idle_seconds=0.05)
    w = Worker(database, dict.fromkeys(JobKind, handler), config, SystemClock())
    task = asyncio.create_task(w.run(grace_seconds=1))

    async def all_ran() -> bool:
        return len(handler.ran) >= count

    try:
        assert await wait_until(all_ran, within=10)
    finally:
        w.stop()
        await task


async def test_an_orders_next_step_runs_at_once_in_the_same_slot(database: Database) -> None:
    now = SystemClock().now()
    async with database.transaction() as c:
        await jobs.enqueue(
            c,
            [JobSpec(JobKind.ACCEPT_ORDER, "po-1"), JobSpec(JobKind.ACCEPT_ORDER, "po-2")],
            now,
        )
    handler = Steps()
    await run_jobs(database, handler, 4)
    kinds = [(kind, uid) for kind, uid, _ in handler.ran]
    # In queue order po-2's accept would go before po-1's placement; chained, it does not.
    assert kinds == [
        (JobKind.ACCEPT_ORDER, "po-1"),
        (JobKind.PLACE_ORDER, "po-1"),
        (JobKind.ACCEPT_ORDER, "po-2"),
        (JobKind.PLACE_ORDER, "po-2"),
    ]
    assert handler.ran[0][2] is handler.ran[1][2]  # one task: no claim came between
    async with database.connect() as c:
        assert await job_queries.count_by_state(c) == {}  # all done, none held


async def test_a_next_step_that_is_not_due_waits_its_turn(database: Database) -> None:
    async with database.transaction() as c:
        await jobs.enqueue(
            c,
            [JobSpec(JobKind.ACCEPT_ORDER, "po-1"), JobSpec(JobKind.ACCEPT_ORDER, "po-2")],
            SystemClock().now(),
        )
    handler = Steps(place_after=0.3)
    await run_jobs(database, handler, 4)
    kinds = [(kind, uid) for kind, uid, _ in handler.ran]
    assert kinds[:2] == [(JobKind.ACCEPT_ORDER, "po-1"), (JobKind.ACCEPT_ORDER, "po-2")]
