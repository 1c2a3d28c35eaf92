"""cancel_order: RxScale cancelled the order. Cancel it at Empower if it is placed and not
shipped; make sure it is never placed if it is not yet.

The job runs in its order's turn, after whatever was queued before it: a placement already
under way finishes first and is then cancelled, never placed and forgotten.
"""

from __future__ import annotations

from connector.domain.empower import EmpowerOrderStatus
from connector.domain.jobs import Job
from connector.domain.lifecycle import (
    CANCELLABLE_AT_EMPOWER,
    NOT_PLACED,
    OrderEvent,
    OrderState,
)
from connector.domain.outcome import HistoryEntry, OrderUpdate, Outcome
from connector.domain.records import OrderRecord
from connector.domain.workflow import advance
from connector.work.base import OrderHandler, log
from connector.work.converge import Elsewhere, cancel_at_empower


class CancelOrder(OrderHandler):
    requires = frozenset(OrderState) - {OrderState.CANCELLED}

    async def handle(self, job: Job, record: OrderRecord) -> Outcome:
        if record.state in NOT_PLACED:
            return advance(
                record,
                OrderEvent.CANCEL,
                detail={"cancelled_by": "rxscale", "empower": "never placed"},
            )
        if record.state not in CANCELLABLE_AT_EMPOWER or not record.empower_order_id:
            return _refused(record, "already shipped", None)
        result = await cancel_at_empower(self.deps.empower, record.empower_order_id)
        if isinstance(result, Elsewhere):
            refusal = result.refusal
            return _refused(record, refusal.message, refusal.request_id)
        log.info("empower_order_cancelled", empower_order_id=record.empower_order_id)
        status = EmpowerOrderStatus.CANCELLED.value
        return advance(
            record,
            OrderEvent.CANCEL,
            update=OrderUpdate(empower_status=status, heard_from_empower=True),
            detail={"cancelled_by": "rxscale", "empower": status},
        )


def _refused(record: OrderRecord, reason: str, request_id: str | None) -> Outcome:
    # The medication is on its way although RxScale cancelled the order: a person must
    # sort this out with the pharmacy and the patient.
    log.error(
        "cancellation_refused", state=record.state.value, reason=reason, request_id=request_id
    )
    detail = {"reason": reason, "request_id": request_id}
    return Outcome(
        order_uid=record.rxscale_uid, history=(HistoryEntry("cancellation_refused", detail),)
    )
