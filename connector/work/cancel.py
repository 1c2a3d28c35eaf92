"""cancel_order: RxScale cancelled the order. Make sure Empower never ships it.

A cancellation overtakes whatever else its order has queued (the queue lets it run as soon
as no job of the order is running); the jobs it overtook find the order cancelled and do
nothing. An order the connector has not placed yet may still have been placed by an
attempt whose answer was lost, so Empower is asked before concluding that nothing needs
cancelling there. If Empower has shipped it already, the order rests as `cancel_refused`
for a person, and its shipment news is still kept.
"""

from __future__ import annotations

from connector.domain.empower import EmpowerOrderStatus
from connector.domain.jobs import Job
from connector.domain.lifecycle import SHIPPED, OrderEvent, OrderState, can_apply
from connector.domain.outcome import HistoryEntry, OrderUpdate, Outcome
from connector.domain.records import OrderRecord
from connector.domain.workflow import advance
from connector.work.base import OrderHandler, log
from connector.work.converge import Elsewhere, cancel_at_empower
from connector.work.lookup import live_placement


class CancelOrder(OrderHandler):
    requires = frozenset(OrderState) - {OrderState.CANCELLED, OrderState.CANCEL_REFUSED}

    async def handle(self, job: Job, record: OrderRecord) -> Outcome:
        if record.state in SHIPPED:
            return _refused(record, "already shipped", None)
        order_id = record.empower_order_id
        if order_id is None:
            found = await live_placement(self.deps.empower, record)
            order_id = found.order_id if found is not None else None
        if order_id is None:
            return advance(
                record,
                OrderEvent.CANCEL,
                detail={"cancelled_by": "rxscale", "empower": "never placed"},
            )
        result = await cancel_at_empower(self.deps.empower, order_id, read_first=job.attempts > 1)
        if isinstance(result, Elsewhere):
            refusal = result.refusal
            reason = f"Empower refused to cancel: {refusal.message}"
            if result.found:
                reason = f"{reason}; the order is {result.found.lower()} there"
            return _refused(record, reason, refusal.request_id, found=result.found)
        log.info("empower_order_cancelled", empower_order_id=order_id)
        status = EmpowerOrderStatus.CANCELLED.value
        return advance(
            record,
            OrderEvent.CANCEL,
            update=OrderUpdate(
                empower_order_id=order_id, empower_status=status, heard_from_empower=True
            ),
            detail={"cancelled_by": "rxscale", "empower": status, "empower_order_id": order_id},
        )


def _refused(
    record: OrderRecord, reason: str, request_id: str | None, *, found: str | None = None
) -> Outcome:
    # The medication is on its way although RxScale cancelled the order: a person must
    # sort this out with the pharmacy and the patient.
    log.error(
        "cancellation_refused",
        state=record.state.value,
        reason=reason,
        request_id=request_id,
        empower_status=found,
    )
    detail = {"reason": reason, "request_id": request_id, "empower_status": found}
    entry = HistoryEntry("cancellation_refused", detail)
    if can_apply(record.state, OrderEvent.REFUSE_CANCEL):
        update = OrderUpdate(empower_status=found) if found else None
        return advance(record, OrderEvent.REFUSE_CANCEL, update=update, history=(entry,))
    return Outcome(order_uid=record.rxscale_uid, history=(entry,))
