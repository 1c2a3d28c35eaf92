"""mark_in_progress and hold_order: tell RxScale what happened at Empower."""

from __future__ import annotations

from connector.domain.errors import ConflictError
from connector.domain.intake import AT_OR_BEYOND_IN_PROGRESS
from connector.domain.jobs import Job
from connector.domain.lifecycle import OrderEvent, OrderState, RxScaleStatus, apply
from connector.domain.outcome import Outcome
from connector.pipeline.base import Handler, cancellation, skip


class MarkInProgress(Handler):
    async def run(self, job: Job) -> Outcome:
        record = await self.load(job)
        if record.state is not OrderState.PLACED:
            return skip(job, record, OrderState.PLACED)
        uid = record.rxscale_uid
        try:
            await self.deps.rxscale.set_status(uid, RxScaleStatus.IN_PROGRESS)
        except ConflictError:
            # Refused as a transition: fine if an earlier attempt got there and lost its answer.
            order = await self.deps.rxscale.get_order(uid)
            if order.status == RxScaleStatus.CANCELLED:
                # Cancelled at RxScale, and perhaps its webhook was lost: cancel at Empower.
                return Outcome(follow_ups=(cancellation(record),))
            if order.status not in AT_OR_BEYOND_IN_PROGRESS:
                raise
        return Outcome(
            order_uid=uid,
            transitions=(apply(record.state, OrderEvent.START),),
            detail={"rxscale_status": RxScaleStatus.IN_PROGRESS.value},
        )


class HoldOrder(Handler):
    async def run(self, job: Job) -> Outcome:
        record = await self.load(job)
        if record.state is not OrderState.REJECTED:
            return skip(job, record, OrderState.REJECTED)
        uid = record.rxscale_uid
        comment = str(job.payload.get("comment") or record.hold_reason or "Held by the connector")
        try:
            await self.deps.rxscale.set_status(uid, RxScaleStatus.ON_HOLD, comment)
        except ConflictError:
            order = await self.deps.rxscale.get_order(uid)
            if order.status == RxScaleStatus.CANCELLED:
                # Cancelled at RxScale meanwhile: nothing left to hold.
                return Outcome(
                    order_uid=uid,
                    transitions=(apply(record.state, OrderEvent.CANCEL),),
                    detail={"rxscale_status": RxScaleStatus.CANCELLED.value},
                )
            if order.status != RxScaleStatus.ON_HOLD:
                raise
        return Outcome(
            order_uid=uid,
            transitions=(apply(record.state, OrderEvent.HOLD),),
            detail={"rxscale_status": RxScaleStatus.ON_HOLD.value, "comment": comment},
        )
