"""accept_order: fetch the new order and tell RxScale it is under review; the order as
fetched is handed to the placement that follows (`handoff`)."""

from __future__ import annotations

from typing import assert_never

from connector.domain.accept import (
    AlreadyCancelled,
    AlreadyPendingReview,
    MarkPendingReview,
    NotAssignedYet,
    NotOurs,
    plan_accept,
)
from connector.domain.errors import Partner, PermanentError, RetryLater
from connector.domain.jobs import Job
from connector.domain.lifecycle import OrderEvent, OrderState, RxScaleStatus
from connector.domain.outcome import Outcome
from connector.domain.records import OrderRecord
from connector.domain.workflow import advance, cancelled_at_rxscale
from connector.work.base import OrderHandler
from connector.work.converge import Elsewhere, reach_rxscale_status


class AcceptOrder(OrderHandler):
    requires = frozenset({OrderState.RECEIVED})

    async def handle(self, job: Job, record: OrderRecord) -> Outcome:
        uid = record.rxscale_uid
        order = await self.deps.rxscale.get_order(uid)
        plan = plan_accept(str(order.status), rerun=record.placement_generation > 0)
        match plan:
            case MarkPendingReview():
                result = await reach_rxscale_status(
                    self.deps.rxscale, uid, RxScaleStatus.PENDING_REVIEW
                )
                if isinstance(result, Elsewhere):
                    if result.found == order.status:
                        raise result.refusal  # refused as it stands: not ours to force
                    # The status moved between our read and our write; plan again.
                    raise RetryLater(f"status changed at RxScale to {result.found!r}")
            case AlreadyPendingReview():
                pass
            case AlreadyCancelled():
                return cancelled_at_rxscale(record)
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
        self.deps.fetched.keep(order, record.placement_generation, self.deps.clock.now())
        return advance(
            record,
            OrderEvent.ACCEPT,
            detail={"rxscale_status": RxScaleStatus.PENDING_REVIEW.value},
        )
