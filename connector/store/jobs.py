"""The job queue (the outbox), on SQLite and PostgreSQL alike.

Claiming takes due jobs under a lease. Within one order, jobs run one at a time and in the
order they were enqueued: a job is claimable only when no job of its order is running and
no earlier job of its order is still queued, except a cancellation, which overtakes the
queued ones. A partial unique index on running jobs makes
that hold even when two replicas race. Finishing a job is fenced by its lease: a worker
whose lease was taken over cannot commit a result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, case, exists, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.jobs import OVERTAKING_KINDS, Job, JobKind, JobSpec, JobState
from connector.store.dialect import insert_or_ignore
from connector.store.tables import jobs_table

jobs = jobs_table

NOTIFY_CHANNEL = "connector_jobs"
MAX_ERROR_LENGTH = 2000


class LeaseLost(Exception):
    """Another worker holds this job now; our result must not be committed."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"lease on job {job_id} was lost")
        self.job_id = job_id


async def enqueue(
    connection: AsyncConnection, specs: Sequence[JobSpec], now: datetime
) -> list[int]:
    """Insert jobs; one whose `unique_key` exists already is skipped. Returns new ids, in
    the order of `specs`."""
    created = await connection.run_sync(enqueue_by_order, specs, now)
    return sorted(job_id for ids in created.values() for job_id in ids)


def enqueue_by_order(
    connection: Connection, specs: Sequence[JobSpec], now: datetime
) -> dict[str | None, list[int]]:
    """`enqueue` in one statement however many jobs; the new ids by order uid. Blocking
    (see `orders.create_orders_if_absent`)."""
    if not specs:
        return {}
    # A list of parameters, compiled once (see `orders.create_orders_if_absent`).
    statement = insert_or_ignore(connection, jobs, "unique_key").returning(
        jobs.c.id, jobs.c.order_uid
    )
    rows = [
        {
            "kind": spec.kind.value,
            "order_uid": spec.order_uid,
            "state": JobState.QUEUED.value,
            "payload": spec.payload,
            "unique_key": spec.unique_key,
            "priority": int(spec.priority),
            "attempts": 0,
            "run_at": now + timedelta(seconds=spec.delay_seconds),
            "created_at": now,
            "updated_at": now,
        }
        for spec in specs
    ]
    created: dict[str | None, list[int]] = {}
    for job_id, order_uid in connection.execute(statement, rows).all():
        created.setdefault(order_uid, []).append(job_id)
    if created and connection.dialect.name == "postgresql":
        # Delivered to listening replicas when this transaction commits, never before.
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    for ids in created.values():
        ids.sort()
    return created


def _claimable(now: datetime) -> Any:
    other = jobs.alias("other")
    overtaking = [kind.value for kind in OVERTAKING_KINDS]
    this_overtakes, other_overtakes = jobs.c.kind.in_(overtaking), other.c.kind.in_(overtaking)
    queued = other.c.state == JobState.QUEUED.value
    blocked = exists().where(
        other.c.order_uid == jobs.c.order_uid,
        or_(
            other.c.state == JobState.RUNNING.value,
            # Earlier work of the order goes first, unless this job overtakes it.
            and_(queued, other.c.id < jobs.c.id, or_(~this_overtakes, other_overtakes)),
            # A due overtaking job goes before everything else of its order, so that one
            # claim never takes two jobs of one order.
            and_(queued, other_overtakes, other.c.run_at <= now, ~this_overtakes),
        ),
    )
    due = and_(jobs.c.state == JobState.QUEUED.value, jobs.c.run_at <= now, ~blocked)
    abandoned = and_(jobs.c.state == JobState.RUNNING.value, jobs.c.lease_expires_at < now)
    return or_(due, abandoned)


async def claim(
    connection: AsyncConnection,
    owner: str,
    limit: int,
    now: datetime,
    lease_seconds: float,
) -> list[Job]:
    """Take up to `limit` due jobs (and jobs whose worker's lease ran out) for `owner`."""
    if limit <= 0:
        return []
    candidates = (
        select(jobs.c.id)
        .where(_claimable(now))
        .order_by(jobs.c.priority, jobs.c.run_at, jobs.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=jobs)
    )
    return await _take(connection, candidates, owner, now, lease_seconds)


async def claim_next_of_order(
    connection: AsyncConnection,
    owner: str,
    order_uid: str,
    now: datetime,
    lease_seconds: float,
) -> Job | None:
    """Take the order's next due job for `owner`, if it may run now: the step that follows
    one just committed, run by the same worker without waiting in the queue."""
    candidate = (
        select(jobs.c.id)
        .where(jobs.c.order_uid == order_uid, _claimable(now))
        .order_by(jobs.c.priority, jobs.c.run_at, jobs.c.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=jobs)
    )
    taken = await _take(connection, candidate, owner, now, lease_seconds)
    return taken[0] if taken else None


async def _take(
    connection: AsyncConnection,
    candidates: Select[tuple[int]],
    owner: str,
    now: datetime,
    lease_seconds: float,
) -> list[Job]:
    ids = list((await connection.execute(candidates)).scalars())
    if not ids:
        return []
    claimed = (
        update(jobs)
        .where(jobs.c.id.in_(ids))
        .values(
            state=JobState.RUNNING.value,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=jobs.c.attempts + 1,
            # Still `running` here means its worker vanished: counted apart from failures,
            # so that a job that crashes its process is caught whatever its retry window.
            lease_expiries=jobs.c.lease_expiries
            + case((jobs.c.state == JobState.RUNNING.value, 1), else_=0),
            updated_at=now,
        )
        .returning(*jobs.c)
    )
    try:
        async with connection.begin_nested():
            rows = (await connection.execute(claimed)).all()
    except IntegrityError:
        # Another replica claimed a job of one of these orders at the same moment (the
        # unique index on running jobs refused ours): its job runs first; try again later.
        return []
    return sorted((to_job(row) for row in rows), key=lambda job: (job.run_at, job.id))


async def renew_leases(
    connection: AsyncConnection,
    owner: str,
    job_ids: Sequence[int],
    now: datetime,
    lease_seconds: float,
) -> set[int]:
    """Extend the leases `owner` still holds; returns the ids it still holds."""
    if not job_ids:
        return set()
    statement = (
        update(jobs)
        .where(_held_by(job_ids, owner))
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds), updated_at=now)
        .returning(jobs.c.id)
    )
    return set((await connection.execute(statement)).scalars())


def _held_by(job_ids: Sequence[int], owner: str) -> Any:
    """Running jobs among `job_ids` whose lease `owner` holds."""
    return and_(
        jobs.c.id.in_(list(job_ids)),
        jobs.c.state == JobState.RUNNING.value,
        jobs.c.lease_owner == owner,
    )


async def _finish(
    connection: AsyncConnection, job_id: int, owner: str, values: dict[str, Any]
) -> None:
    statement = update(jobs).where(_held_by([job_id], owner)).values(**values)
    if (await connection.execute(statement)).rowcount != 1:
        raise LeaseLost(job_id)


async def complete(connection: AsyncConnection, job_id: int, owner: str, now: datetime) -> None:
    await _finish(
        connection,
        job_id,
        owner,
        {
            "state": JobState.DONE.value,
            "lease_owner": None,
            "lease_expires_at": None,
            "finished_at": now,
            "updated_at": now,
        },
    )


async def reschedule(
    connection: AsyncConnection,
    job_id: int,
    owner: str,
    now: datetime,
    *,
    delay_seconds: float,
    error: str,
    counts_as_attempt: bool = True,
) -> None:
    values: dict[str, Any] = {
        "state": JobState.QUEUED.value,
        "run_at": now + timedelta(seconds=delay_seconds),
        "lease_owner": None,
        "lease_expires_at": None,
        "last_error": error[:MAX_ERROR_LENGTH],
        "first_failed_at": func.coalesce(jobs.c.first_failed_at, now),
        "updated_at": now,
    }
    if not counts_as_attempt:
        values["attempts"] = jobs.c.attempts - 1
    await _finish(connection, job_id, owner, values)


async def give_up(
    connection: AsyncConnection,
    job_id: int,
    owner: str,
    now: datetime,
    *,
    state: JobState,
    error: str,
) -> None:
    if state not in (JobState.FAILED, JobState.DEAD):
        raise ValueError(f"cannot give up into {state}")
    await _finish(
        connection,
        job_id,
        owner,
        {
            "state": state.value,
            "lease_owner": None,
            "lease_expires_at": None,
            "last_error": error[:MAX_ERROR_LENGTH],
            "finished_at": now,
            "updated_at": now,
        },
    )


async def release(
    connection: AsyncConnection, owner: str, job_ids: Sequence[int], now: datetime
) -> int:
    """Hand unfinished jobs back to the queue at once (graceful stop); no attempt is spent."""
    if not job_ids:
        return 0
    statement = (
        update(jobs)
        .where(_held_by(job_ids, owner))
        .values(
            state=JobState.QUEUED.value,
            run_at=now,
            lease_owner=None,
            lease_expires_at=None,
            attempts=jobs.c.attempts - 1,
            updated_at=now,
        )
    )
    return int((await connection.execute(statement)).rowcount)


def to_job(row: Row[Any]) -> Job:
    return Job(
        id=row.id,
        kind=JobKind(row.kind),
        order_uid=row.order_uid,
        payload=dict(row.payload or {}),
        attempts=row.attempts,
        state=JobState(row.state),
        run_at=row.run_at,
        created_at=row.created_at,
        last_error=row.last_error,
        lease_owner=row.lease_owner,
        first_failed_at=row.first_failed_at,
        lease_expiries=row.lease_expiries,
        redrives=row.redrives,
    )
