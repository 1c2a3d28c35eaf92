"""Reading the job queue, and handing finished jobs back to it: what the operator
commands, the metrics and the worker's idle timer ask of it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.jobs import Job, JobKind, JobState
from connector.store.jobs import NOTIFY_CHANNEL, jobs, to_job


async def requeue(
    connection: AsyncConnection,
    now: datetime,
    *,
    job_ids: Sequence[int] | None = None,
    all_dead: bool = False,
    redrive: bool = False,
) -> list[int]:
    """Give dead (or failed) jobs another run: queued now, their attempts, retry window and
    lease expiries counted afresh.

    `job_ids` may name dead or failed jobs; `all_dead` takes every dead one. `redrive`:
    it is re-drive asking, not a person, and the job's count of re-drives grows."""
    finished = [JobState.DEAD.value, JobState.FAILED.value]
    if all_dead:
        which = jobs.c.state == JobState.DEAD.value
    elif job_ids:
        which = and_(jobs.c.id.in_(list(job_ids)), jobs.c.state.in_(finished))
    else:
        return []
    statement = (
        update(jobs)
        .where(which)
        .values(
            state=JobState.QUEUED.value,
            attempts=0,
            first_failed_at=None,
            lease_expiries=0,
            redrives=jobs.c.redrives + (1 if redrive else 0),
            run_at=now,
            finished_at=None,
            updated_at=now,
        )
        .returning(jobs.c.id)
    )
    requeued = sorted((await connection.execute(statement)).scalars())
    if requeued and connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL}
        )
    return requeued


async def next_wakeup(connection: AsyncConnection) -> datetime | None:
    """When the earliest queued job falls due or the earliest lease runs out."""
    due = select(func.min(jobs.c.run_at)).where(jobs.c.state == JobState.QUEUED.value)
    lease = select(func.min(jobs.c.lease_expires_at)).where(jobs.c.state == JobState.RUNNING.value)
    times = [
        (await connection.execute(due)).scalar_one_or_none(),
        (await connection.execute(lease)).scalar_one_or_none(),
    ]
    present = [t for t in times if t is not None]
    return min(present) if present else None


async def get_job(connection: AsyncConnection, job_id: int) -> Job | None:
    row = (await connection.execute(select(jobs).where(jobs.c.id == job_id))).first()
    return to_job(row) if row is not None else None


async def list_jobs(
    connection: AsyncConnection,
    *,
    states: Sequence[JobState] | None = None,
    order_uid: str | None = None,
    kinds: Sequence[JobKind] | None = None,
    limit: int = 1000,
) -> list[Job]:
    statement = select(jobs).order_by(jobs.c.id).limit(limit)
    if states:
        statement = statement.where(jobs.c.state.in_([s.value for s in states]))
    if order_uid is not None:
        statement = statement.where(jobs.c.order_uid == order_uid)
    if kinds:
        statement = statement.where(jobs.c.kind.in_([k.value for k in kinds]))
    return [to_job(row) for row in await connection.execute(statement)]


# Every state but `done`: the one that grows with time, and the one nobody watches.
UNFINISHED_OR_STUCK = (JobState.QUEUED, JobState.RUNNING, JobState.FAILED, JobState.DEAD)


async def count_by_state(connection: AsyncConnection) -> dict[JobState, int]:
    """Jobs by state, `done` left out: read through the index on state, the cost follows
    the work waiting or stuck, not the work ever done."""
    statement = (
        select(jobs.c.state, func.count())
        .where(jobs.c.state.in_([s.value for s in UNFINISHED_OR_STUCK]))
        .group_by(jobs.c.state)
    )
    return {JobState(state): count for state, count in await connection.execute(statement)}


async def count_redriven(connection: AsyncConnection, at_least: int) -> int:
    """Jobs not done that re-drive has already given `at_least` more runs."""
    statement = select(func.count()).where(
        jobs.c.state.in_([s.value for s in UNFINISHED_OR_STUCK]), jobs.c.redrives >= at_least
    )
    return int((await connection.execute(statement)).scalar_one())
