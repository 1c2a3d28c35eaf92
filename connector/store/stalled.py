"""Orders whose work stopped: not at rest, with no job queued or running. What re-drive
gives another run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Exists, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.jobs import JobKind, JobState
from connector.domain.lifecycle import OrderState
from connector.store.tables import jobs_table, orders_table

jobs, orders = jobs_table, orders_table


@dataclass(frozen=True, slots=True)
class StalledOrder:
    uid: str
    state: OrderState
    generation: int
    dead_jobs: tuple[int, ...]  # jobs that ran out of time, oldest first
    has_failed_job: bool  # a job failed for good: a person's matter, not re-drive's


def _jobs_of_order_in(*states: JobState) -> Exists:
    return exists().where(
        jobs.c.order_uid == orders.c.rxscale_uid, jobs.c.state.in_([s.value for s in states])
    )


async def stalled_orders(
    connection: AsyncConnection,
    at_rest: Iterable[OrderState],
    awaiting_a_step: Iterable[OrderState],
    *,
    limit: int = 500,
) -> list[StalledOrder]:
    """Orders not at rest with no live job that either wait for a step of ours or have a
    dead job; oldest first."""
    live = _jobs_of_order_in(JobState.QUEUED, JobState.RUNNING)
    dead = _jobs_of_order_in(JobState.DEAD)
    candidates = (
        select(orders.c.rxscale_uid, orders.c.state, orders.c.placement_generation)
        .where(
            orders.c.state.not_in([s.value for s in at_rest]),
            ~live,
            orders.c.state.in_([s.value for s in awaiting_a_step]) | dead,
        )
        .order_by(orders.c.updated_at)
        .limit(limit)
    )
    found = (await connection.execute(candidates)).all()
    if not found:
        return []
    uids = [row.rxscale_uid for row in found]
    finished = await connection.execute(
        select(jobs.c.id, jobs.c.order_uid, jobs.c.state)
        .where(
            jobs.c.order_uid.in_(uids),
            jobs.c.state.in_([JobState.DEAD.value, JobState.FAILED.value]),
        )
        .order_by(jobs.c.id)
    )
    dead_jobs: dict[str, list[int]] = {}
    failed: set[str] = set()
    for row in finished:
        if row.state == JobState.DEAD.value:
            dead_jobs.setdefault(row.order_uid, []).append(row.id)
        else:
            failed.add(row.order_uid)
    return [
        StalledOrder(
            uid=row.rxscale_uid,
            state=OrderState(row.state),
            generation=row.placement_generation,
            dead_jobs=tuple(dead_jobs.get(row.rxscale_uid, ())),
            has_failed_job=row.rxscale_uid in failed,
        )
        for row in found
    ]


async def dead_news_without_an_order(connection: AsyncConnection, *, limit: int = 500) -> list[int]:
    """News jobs that died waiting for their order (before news could end unmatched)."""
    statement = (
        select(jobs.c.id)
        .where(
            jobs.c.state == JobState.DEAD.value,
            jobs.c.kind == JobKind.EMPOWER_NEWS.value,
            jobs.c.order_uid.is_(None),
        )
        .order_by(jobs.c.id)
        .limit(limit)
    )
    return list((await connection.execute(statement)).scalars())
