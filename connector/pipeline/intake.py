"""accept_order: fetch the new order and tell RxScale it is under review."""

from __future__ import annotations

from typing import assert_never

from connector.domain.errors import ConflictError, Partner, PermanentError, RetryLater
from connector.domain.intake import (
    AlreadyCancelled,
    AlreadyPendingReview,
    MarkPendingReview,
    NotAssignedYet,
    NotOurs,
    plan_intake,
)
from connector.domain.jobs import Job, JobKind, JobSpec
from connector.domain.lifecycle import OrderEvent, OrderState, RxScaleStatus, apply
from connector.domain.outcome import Outcome
from connector.pipeline.base import Handler, skip


class AcceptOrder(Handler):
    async def run(self, job: Job) -> Outcome:
        record = await self.load(job)
        if record.state is not OrderState.RECEIVED:
            return skip(job, record, OrderState.RECEIVED)
        uid = record.rxscale_uid
        order = await self.deps.rxscale.get_order(uid)
        plan = plan_intake(str(order.status), rerun=record.placement_generation > 0)
        match plan:
            case MarkPendingReview():
                try:
                    await self.deps.rxscale.set_status(uid, RxScaleStatus.PENDING_REVIEW)
                except ConflictError as exc:
                    # The status moved between our read and our write; read it again.
                    raise RetryLater(f"status changed at RxScale: {exc.message}") from exc
            case AlreadyPendingReview():
                pass
            case AlreadyCancelled():
                return Outcome(
                    order_uid=uid,
                    transitions=(apply(record.state, OrderEvent.CANCEL),),
                    detail={"rxscale_status": RxScaleStatus.CANCELLED.value},
                )
            case NotAssignedYet():
                raise RetryLater("the order is still `init` at RxScale")
            case NotOurs(status=status):
                raise PermanentError(
                    Partner.RXSCALE,
                    "accept_order",
                    f"the order is already {status!r} at RxScale; not taking it over",
                )
            case _:
                assert_never(plan)
        generation = record.placement_generation
        return Outcome(
            order_uid=uid,
            transitions=(apply(record.state, OrderEvent.ACCEPT),),
            follow_ups=(
                JobSpec(JobKind.PLACE_ORDER, uid, unique_key=f"place:{uid}:g{generation}"),
            ),
            detail={"rxscale_status": RxScaleStatus.PENDING_REVIEW.value},
        )
