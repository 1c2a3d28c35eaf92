"""mark_in_progress and hold_order: tell RxScale what happened at Empower."""

from __future__ import annotations

from connector.domain.accept import AT_OR_BEYOND_IN_PROGRESS
from connector.domain.jobs import Job
from connector.domain.lifecycle import OrderEvent, OrderState, RxScaleStatus
from connector.domain.outcome import Outcome
from connector.domain.records import OrderRecord
from connector.domain.workflow import advance, cancellation, cancelled_at_rxscale
from connector.work.base import OrderHandler
from connector.work.converge import Elsewhere, reach_rxscale_status

DEFAULT_HOLD_COMMENT = "Held by the connector"


class MarkInProgress(OrderHandler):
    requires = frozenset({OrderState.PLACED})

    async def handle(self, job: Job, record: OrderRecord) -> Outcome:
        uid = record.rxscale_uid
        result = await reach_rxscale_status(
            self.deps.rxscale,
            uid,
            RxScaleStatus.IN_PROGRESS,
            or_beyond=AT_OR_BEYOND_IN_PROGRESS,
            read_first=job.attempts > 1,
        )
        if isinstance(result, Elsewhere):
            if result.found == RxScaleStatus.CANCELLED:
                # Cancelled at RxScale, and perhaps its webhook was lost: cancel at Empower.
                return Outcome(follow_ups=(cancellation(record),))
            raise result.refusal
        return advance(
            record, OrderEvent.START, detail={"rxscale_status": RxScaleStatus.IN_PROGRESS.value}
        )


class HoldOrder(OrderHandler):
    requires = frozenset({OrderState.REJECTED})

    async def handle(self, job: Job, record: OrderRecord) -> Outcome:
        uid = record.rxscale_uid
        # Older hold jobs carried the comment; it is the order's hold reason either way.
        comment = str(job.payload.get("comment") or record.hold_reason or DEFAULT_HOLD_COMMENT)
        result = await reach_rxscale_status(
            self.deps.rxscale,
            uid,
            RxScaleStatus.ON_HOLD,
            comment=comment,
            read_first=job.attempts > 1,
        )
        if isinstance(result, Elsewhere):
            if result.found == RxScaleStatus.CANCELLED:
                return cancelled_at_rxscale(record)  # nothing left to hold
            raise result.refusal
        return advance(
            record,
            OrderEvent.HOLD,
            detail={"rxscale_status": RxScaleStatus.ON_HOLD.value, "comment": comment},
        )
