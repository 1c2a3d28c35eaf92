"""What every job handler shares: its dependencies, and loading the order it is about."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import structlog

from connector.domain.clock import Clock
from connector.domain.errors import PartnerError
from connector.domain.jobs import Job
from connector.domain.lifecycle import OrderState
from connector.domain.mapping import MappingPolicy
from connector.domain.news import CompletionPoint
from connector.domain.outcome import NOTHING, Outcome
from connector.domain.records import OrderRecord
from connector.store import orders
from connector.store.database import Database
from connector.work.handoff import FetchedOrders
from connector.work.ports import EmpowerApi, RxScaleApi

log = structlog.get_logger("connector.work")


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
    # Empower news whose order stays unknown this long is kept as unmatched, not retried.
    unmatched_after_seconds: float = 3600.0
    # Done jobs, dedupe rows and the history of orders at rest are kept this long.
    retention_days: float = 90.0
    # A shipment heard by webhook is relayed only once Empower's API shows it.
    confirm_shipments: bool = True
    # Accepting hands the order it fetched to the placement that follows (memory only).
    fetched: FetchedOrders = field(default_factory=FetchedOrders)


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
        async with self.deps.database.connect() as connection:
            return await orders.require_order(connection, job.order_uid)


class OrderHandler(Handler):
    """A job about one order that only makes sense while the order is in `requires`: by
    the time it runs, the order may have moved on, and then there is nothing left to do."""

    requires: ClassVar[frozenset[OrderState]]

    async def run(self, job: Job) -> Outcome:
        record = await self.load(job)
        if record.state not in self.requires:
            log.info(
                "job_skipped",
                reason="order_moved_on",
                state=record.state.value,
                expected=",".join(sorted(state.value for state in self.requires)),
            )
            return NOTHING
        return await self.handle(job, record)

    async def handle(self, job: Job, record: OrderRecord) -> Outcome:
        raise NotImplementedError
