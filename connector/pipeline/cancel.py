"""cancel_order: RxScale cancelled the order. Cancel it at Empower if it is placed and not
shipped; make sure it is never placed if it is not yet.

The job runs in its order's turn, after whatever was queued before it: a placement already
under way finishes first and is then cancelled, never placed and forgotten.
"""

from __future__ import annotations

from connector.domain.errors import ConflictError
from connector.domain.jobs import Job
from connector.domain.lifecycle import CANCELLABLE_AT_EMPOWER, OrderEvent, OrderState, apply
from connector.domain.outcome import NOTHING, HistoryEntry, OrderUpdate, Outcome
from connector.pipeline.base import Handler, log

NOT_PLACED = frozenset(
    {OrderState.RECEIVED, OrderState.ACCEPTED, OrderState.REJECTED, OrderState.ON_HOLD}
)


class CancelOrder(Handler):
    async def run(self, job: Job) -> Outcome:
        record = await self.load(job)
        uid = record.rxscale_uid
        if record.state is OrderState.CANCELLED:
            return NOTHING
        if record.state in NOT_PLACED:
            return Outcome(
                order_uid=uid,
                transitions=(apply(record.state, OrderEvent.CANCEL),),
                detail={"cancelled_by": "rxscale", "empower": "never placed"},
            )
        if record.state in CANCELLABLE_AT_EMPOWER and record.empower_order_id:
            try:
                status = await self.deps.empower.cancel_order(record.empower_order_id)
            except ConflictError as exc:
                return self._refused(uid, record.state, exc.message, exc.request_id)
            log.info("empower_order_cancelled", empower_order_id=record.empower_order_id)
            return Outcome(
                order_uid=uid,
                transitions=(apply(record.state, OrderEvent.CANCEL),),
                update=OrderUpdate(empower_status=status, heard_from_empower=True),
                detail={"cancelled_by": "rxscale", "empower": status},
            )
        return self._refused(uid, record.state, "already shipped", None)

    @staticmethod
    def _refused(uid: str, state: OrderState, reason: str, request_id: str | None) -> Outcome:
        # The medication is on its way although RxScale cancelled the order: a person must
        # sort this out with the pharmacy and the patient.
        log.error("cancellation_refused", state=state.value, reason=reason, request_id=request_id)
        detail = {"reason": reason, "request_id": request_id}
        return Outcome(order_uid=uid, history=(HistoryEntry("cancellation_refused", detail),))
