"""What every job handler shares: its dependencies, loading the order, rejecting it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import structlog

from connector.domain.clock import Clock
from connector.domain.errors import PartnerError
from connector.domain.jobs import Job, JobKind, JobSpec
from connector.domain.lifecycle import OrderEvent, OrderState, apply
from connector.domain.mapping import MappingPolicy
from connector.domain.news import CompletionPoint
from connector.domain.outcome import NOTHING, OrderUpdate, Outcome
from connector.domain.records import OrderRecord
from connector.pipeline.ports import EmpowerApi, RxScaleApi
from connector.store import orders
from connector.store.database import Database

log = structlog.get_logger("connector.pipeline")


@dataclass(frozen=True, slots=True)
class Dependencies:
    database: Database
    rxscale: RxScaleApi
    empower: EmpowerApi
    policy: MappingPolicy
    clock: Clock
    complete_on: CompletionPoint = CompletionPoint.SHIPPED
    # A placed order with no word from Empower for this long is looked up there.
    stale_after_seconds: float = 7200.0


class JobHandler(Protocol):
    async def run(self, job: Job) -> Outcome:
        """Do the job's outbound work and say what to commit. Raise to fail."""
        ...

    async def on_permanent_failure(self, job: Job, error: PartnerError) -> Outcome:
        """What to commit, besides marking the job failed, when it cannot succeed."""
        ...


class Handler:
    """Base for handlers: dependencies, and no extra work on permanent failure."""

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    async def on_permanent_failure(self, job: Job, error: PartnerError) -> Outcome:
        return NOTHING

    async def load(self, job: Job) -> OrderRecord:
        if job.order_uid is None:
            raise ValueError(f"{job.kind.value} job {job.id} names no order")
        async with self.deps.database.engine.connect() as connection:
            return await orders.require_order(connection, job.order_uid)


def skip(job: Job, record: OrderRecord, expected: OrderState) -> Outcome:
    """The order has moved on since this job was enqueued: nothing left to do."""
    log.info(
        "job_skipped",
        reason="order_moved_on",
        state=record.state.value,
        expected=expected.value,
    )
    return NOTHING


def reject(record: OrderRecord, reason: str, *, request_id: str | None = None) -> Outcome:
    """Record why the order cannot be fulfilled and queue the hold at RxScale."""
    comment = reason if request_id is None else f"{reason} (Empower request_id {request_id})"
    uid = record.rxscale_uid
    return Outcome(
        order_uid=uid,
        transitions=(apply(record.state, OrderEvent.REJECT),),
        update=OrderUpdate(hold_reason=comment),
        follow_ups=(
            JobSpec(
                JobKind.HOLD_ORDER,
                uid,
                payload={"comment": comment},
                unique_key=f"hold:{uid}:g{record.placement_generation}",
            ),
        ),
        detail={"reason": comment},
    )


def cancellation(record: OrderRecord) -> JobSpec:
    """The job that cancels this order (once per placement generation, however it is asked)."""
    uid = record.rxscale_uid
    return JobSpec(
        JobKind.CANCEL_ORDER, uid, unique_key=f"cancel:{uid}:g{record.placement_generation}"
    )
