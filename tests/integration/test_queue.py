"""The job queue on a real database: due times, per-order FIFO, leases, fencing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from connector.domain.jobs import JobKind, JobSpec, JobState, Priority
from connector.domain.workflow import news
from connector.store import job_queries, jobs
from connector.store.database import Database
from connector.store.tables import jobs_table

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LEASE = 30.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def spec(order: str | None, kind: JobKind = JobKind.ACCEPT_ORDER, **kwargs: object) -> JobSpec:
    return JobSpec(kind, order, **kwargs)  # type: ignore[arg-type]


async def enqueue(db: Database, *specs: JobSpec, now: datetime = T0) -> list[int]:
    async with db.transaction() as c:
        return await jobs.enqueue(c, list(specs), now)


async def claim(db: Database, owner: str, limit: int = 10, now: datetime = T0) -> list[int]:
    async with db.transaction() as c:
        return [job.id for job in await jobs.claim(c, owner, limit, now, LEASE)]


async def test_unique_key_makes_a_second_enqueue_a_no_op(database: Database) -> None:
    first = await enqueue(database, spec("po-1", unique_key="accept:po-1"))
    second = await enqueue(database, spec("po-1", unique_key="accept:po-1"))
    assert len(first) == 1
    assert second == []


async def test_delayed_jobs_wait_until_due(database: Database) -> None:
    [job_id] = await enqueue(database, spec("po-1", delay_seconds=10))
    assert await claim(database, "w", now=at(9)) == []
    assert await claim(database, "w", now=at(10)) == [job_id]


async def test_one_order_runs_one_job_at_a_time_in_order(database: Database) -> None:
    first, second = await enqueue(database, spec("po-1"), spec("po-1", JobKind.PLACE_ORDER))
    [other] = await enqueue(database, spec("po-2"))
    assert sorted(await claim(database, "w")) == sorted([first, other])
    assert await claim(database, "w") == []  # po-1's second job waits for the first
    async with database.transaction() as c:
        await jobs.complete(c, first, "w", at(1))
    assert await claim(database, "w", now=at(1)) == [second]


async def test_a_queued_job_in_backoff_still_holds_back_later_jobs(database: Database) -> None:
    first, second = await enqueue(database, spec("po-1"), spec("po-1", JobKind.PLACE_ORDER))
    assert await claim(database, "w") == [first]
    async with database.transaction() as c:
        await jobs.reschedule(c, first, "w", T0, delay_seconds=60, error="503")
    assert await claim(database, "w", now=at(1)) == []
    assert await claim(database, "w", now=at(60)) == [first]
    assert second not in await claim(database, "w", now=at(61))


async def test_jobs_without_an_order_are_not_serialised(database: Database) -> None:
    ids = await enqueue(
        database, spec(None, JobKind.EMPOWER_NEWS), spec(None, JobKind.EMPOWER_NEWS)
    )
    assert sorted(await claim(database, "w")) == sorted(ids)


async def test_the_database_refuses_two_running_jobs_of_one_order(database: Database) -> None:
    first, second = await enqueue(database, spec("po-1"), spec("po-1"))
    with pytest.raises(IntegrityError):
        async with database.transaction() as c:
            await c.execute(
                update(jobs_table)
                .where(jobs_table.c.id.in_([first, second]))
                .values(state=JobState.RUNNING.value)
            )


async def test_an_expired_lease_returns_the_job_and_fences_the_old_owner(
    database: Database,
) -> None:
    [job_id] = await enqueue(database, spec("po-1"))
    assert await claim(database, "replica-a") == [job_id]
    assert await claim(database, "replica-b", now=at(LEASE - 1)) == []
    assert await claim(database, "replica-b", now=at(LEASE + 1)) == [job_id]
    with pytest.raises(jobs.LeaseLost):
        async with database.transaction() as c:
            await jobs.complete(c, job_id, "replica-a", at(LEASE + 2))
    async with database.transaction() as c:
        await jobs.complete(c, job_id, "replica-b", at(LEASE + 2))
        job = await job_queries.get_job(c, job_id)
    assert job is not None
    assert job.state is JobState.DONE
    assert job.attempts == 2


async def test_renewal_keeps_a_lease_alive_for_its_owner_only(database: Database) -> None:
    [job_id] = await enqueue(database, spec("po-1"))
    await claim(database, "a")
    async with database.transaction() as c:
        assert await jobs.renew_leases(c, "a", [job_id], at(LEASE - 1), LEASE) == {job_id}
        assert await jobs.renew_leases(c, "b", [job_id], at(LEASE - 1), LEASE) == set()
    assert await claim(database, "b", now=at(LEASE + 1)) == []  # renewed until 2*LEASE - 1


async def test_rate_limited_retry_spends_no_attempt(database: Database) -> None:
    [job_id] = await enqueue(database, spec("po-1"))
    await claim(database, "w")
    async with database.transaction() as c:
        await jobs.reschedule(
            c, job_id, "w", T0, delay_seconds=0, error="429", counts_as_attempt=False
        )
        job = await job_queries.get_job(c, job_id)
    assert job is not None
    assert job.attempts == 0
    assert job.state is JobState.QUEUED
    assert job.last_error == "429"


async def test_give_up_leaves_the_job_visible(database: Database) -> None:
    dead, failed = await enqueue(database, spec("po-1"), spec("po-2"))
    await claim(database, "w")
    async with database.transaction() as c:
        await jobs.give_up(c, dead, "w", T0, state=JobState.DEAD, error="gave up")
        await jobs.give_up(c, failed, "w", T0, state=JobState.FAILED, error="422")
        listed = await job_queries.list_jobs(c, states=[JobState.DEAD])
        counts = await job_queries.count_by_state(c)
    assert [j.id for j in listed] == [dead]
    assert listed[0].last_error == "gave up"
    assert counts == {JobState.DEAD: 1, JobState.FAILED: 1}
    assert await claim(database, "w", now=at(3600)) == []


async def test_release_hands_jobs_back_without_spending_an_attempt(database: Database) -> None:
    [job_id] = await enqueue(database, spec("po-1"))
    await claim(database, "w")
    async with database.transaction() as c:
        assert await jobs.release(c, "w", [job_id], at(1)) == 1
        job = await job_queries.get_job(c, job_id)
    assert job is not None
    assert job.state is JobState.QUEUED
    assert job.attempts == 0
    assert await claim(database, "other", now=at(1)) == [job_id]


async def test_next_wakeup_is_the_earliest_due_time_or_lease_end(database: Database) -> None:
    async with database.engine.connect() as c:
        assert await job_queries.next_wakeup(c) is None
    await enqueue(database, spec("po-1", delay_seconds=50), spec("po-2", delay_seconds=90))
    async with database.engine.connect() as c:
        assert await job_queries.next_wakeup(c) == at(50)


async def test_concurrent_claimers_take_each_job_exactly_once(database_url: str) -> None:
    """Several engines (as several replicas would have) race over one queue."""
    setup = Database(database_url)
    from connector.store.migrate import upgrade_to_head

    await upgrade_to_head(setup)
    orders = [f"po-{n}" for n in range(60)]
    specs = [spec(uid) for uid in orders] + [spec(uid, JobKind.PLACE_ORDER) for uid in orders]
    await enqueue(setup, *specs)
    claimers = [Database(database_url) for _ in range(5)]
    taken: list[tuple[str, int]] = []
    clock = [at(0)]

    async def work(name: str, db: Database) -> None:
        idle = 0
        while idle < 20:
            try:
                got = await claim(db, name, limit=3, now=clock[0])
            except IntegrityError:
                await asyncio.sleep(0.01)  # lost a race for an order; try again
                continue
            if not got:
                idle += 1
                await asyncio.sleep(0.005)
                continue
            idle = 0
            for job_id in got:
                taken.append((name, job_id))
                async with db.transaction() as c:
                    await jobs.complete(c, job_id, name, clock[0])

    try:
        await asyncio.gather(*(work(f"c{n}", db) for n, db in enumerate(claimers)))
        job_ids = [job_id for _, job_id in taken]
        assert len(job_ids) == len(specs)
        assert len(set(job_ids)) == len(specs)
        async with setup.engine.connect() as c:
            assert await job_queries.count_by_state(c) == {}  # `done` is not counted
            done = await job_queries.list_jobs(c, states=[JobState.DONE], limit=10_000)
            assert len(done) == len(specs)
    finally:
        for db in [setup, *claimers]:
            await db.close()


async def test_lease_expiries_are_counted_apart_from_failures(database: Database) -> None:
    [job_id] = await enqueue(database, spec("po-1"))
    assert await claim(database, "w1") == [job_id]
    # w1 vanishes; once its lease lapsed, w2 takes the job over, twice over.
    assert await claim(database, "w2", now=at(LEASE + 1)) == [job_id]
    assert await claim(database, "w3", now=at(2 * LEASE + 2)) == [job_id]
    async with database.transaction() as c:
        await jobs.reschedule(c, job_id, "w3", at(100), delay_seconds=0, error="503")
    assert await claim(database, "w4", now=at(100)) == [job_id]
    async with database.connect() as c:
        job = await job_queries.get_job(c, job_id)
    assert job is not None
    assert (job.attempts, job.lease_expiries) == (4, 2)


async def test_the_retry_window_runs_from_the_first_failure(database: Database) -> None:
    [job_id] = await enqueue(database, spec("po-1"))
    for second in (10, 20):
        [claimed] = await claim(database, "w", now=at(second))
        async with database.transaction() as c:
            await jobs.reschedule(c, claimed, "w", at(second), delay_seconds=0, error="503")
    async with database.connect() as c:
        job = await job_queries.get_job(c, job_id)
    assert job is not None
    assert job.first_failed_at == at(10)
    async with database.transaction() as c:  # an operator's retry starts it afresh
        await c.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(state="dead"))
        await job_queries.requeue(c, at(40), job_ids=[job_id])
    async with database.connect() as c:
        job = await job_queries.get_job(c, job_id)
    assert job is not None
    assert (job.first_failed_at, job.lease_expiries, job.attempts) == (None, 0, 0)


async def test_a_cancellation_overtakes_the_work_queued_before_it(database: Database) -> None:
    accept, _place = await enqueue(
        database, spec("po-1"), spec("po-1", JobKind.PLACE_ORDER, delay_seconds=5)
    )
    [cancel] = await enqueue(database, spec("po-1", JobKind.CANCEL_ORDER))
    [other] = await enqueue(database, spec("po-2"))
    # One claim of many: the cancellation alone for po-1, never two jobs of one order.
    assert sorted(await claim(database, "w")) == sorted([cancel, other])
    assert await claim(database, "w") == []  # po-1 runs one job at a time
    async with database.transaction() as c:
        await jobs.complete(c, cancel, "w", at(1))
    assert await claim(database, "w", now=at(1)) == [accept]


async def test_a_cancellation_waits_for_a_running_job_of_its_order(database: Database) -> None:
    [accept] = await enqueue(database, spec("po-1"))
    assert await claim(database, "w") == [accept]
    [cancel] = await enqueue(database, spec("po-1", JobKind.CANCEL_ORDER))
    assert await claim(database, "w") == []
    async with database.transaction() as c:
        await jobs.complete(c, accept, "w", at(1))
    assert await claim(database, "w", now=at(1)) == [cancel]


async def test_parked_news_is_claimed_only_after_live_work(database: Database) -> None:
    # A flood of news about no known order, all due long before the live order's job.
    parked = [
        spec(None, JobKind.EMPOWER_NEWS, payload={"n": n}, priority=Priority.PARKED)
        for n in range(50)
    ]
    flood = await enqueue(database, *parked, now=at(-60))
    [live] = await enqueue(database, spec("po-live"))
    first = await claim(database, "w1", limit=1)
    assert first == [live]
    rest = await claim(database, "w1", limit=100)
    assert sorted(rest) == sorted(flood)


def test_news_without_an_order_is_parked() -> None:
    assert news(None, {"type": "order"}).priority is Priority.PARKED
    assert news("po-1", {"type": "order"}).priority is Priority.LIVE
