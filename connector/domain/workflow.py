"""Job identity and the outcomes every step builds the same way.

"Never twice" rests on job identity: a job's `unique_key` makes enqueueing the same work a
second time a no-op, across retries, redeliveries and replicas. Every key is spelled here
and nowhere else. Which job follows which lifecycle event is `TRANSITIONS` in `lifecycle`.
"""

from __future__ import annotations

from collections.abc import Mapping

from connector.domain.jobs import JobKind, JobSpec, JsonObject, Priority
from connector.domain.lifecycle import (
    TRANSITIONS,
    OrderEvent,
    OrderState,
    RxScaleStatus,
    apply_all,
)
from connector.domain.outcome import HistoryEntry, OrderUpdate, Outcome
from connector.domain.records import OrderRecord

# The steps of an order's workflow: at most one of each per order and placement generation.
ORDER_STEP_NAMES: Mapping[JobKind, str] = {
    JobKind.ACCEPT_ORDER: "accept",
    JobKind.PLACE_ORDER: "place",
    JobKind.MARK_IN_PROGRESS: "in-progress",
    JobKind.HOLD_ORDER: "hold",
    JobKind.CANCEL_ORDER: "cancel",
}


def order_step(kind: JobKind, uid: str, generation: int) -> JobSpec:
    """The job of one workflow step of an order in one placement generation."""
    return JobSpec(kind, uid, unique_key=f"{ORDER_STEP_NAMES[kind]}:{uid}:g{generation}")


# The step an order in each state waits for: the job the transition into that state called
# for. Re-drive queues it again for an order whose job vanished.
STEP_AWAITED: Mapping[OrderState, JobKind] = {
    after: follow_up for (after, follow_up) in TRANSITIONS.values() if follow_up is not None
}


def redriven_step(kind: JobKind, uid: str, generation: int, run: object) -> JobSpec:
    """A workflow step queued again by re-drive: a key of its own per re-drive run, since
    the step's own key may belong to a job that vanished or finished without effect."""
    step = order_step(kind, uid, generation)
    return JobSpec(kind, uid, unique_key=f"{step.unique_key}:redrive:{run}")


def cancellation(record: OrderRecord) -> JobSpec:
    """The job that cancels this order (once per placement generation, however it is asked)."""
    return order_step(JobKind.CANCEL_ORDER, record.rxscale_uid, record.placement_generation)


def refresh(uid: str, run: object) -> JobSpec:
    """Ask Empower about one order, once per reconciliation run."""
    return JobSpec(JobKind.REFRESH_ORDER, uid, unique_key=f"refresh:{uid}:{run}")


def periodic(kind: JobKind, every_seconds: float, period: int) -> JobSpec:
    """This period's run of a periodic job: exists once however many replicas enqueue it."""
    return JobSpec(
        kind,
        None,
        payload={"bucket": period},
        unique_key=f"{kind.value}:{every_seconds:g}:{period}",
    )


def news(uid: str | None, payload: JsonObject) -> JobSpec:
    """Apply one piece of Empower news (no key: every delivery is its own work; the
    receivers deduplicate deliveries)."""
    priority = Priority.LIVE if uid is not None else Priority.PARKED
    return JobSpec(JobKind.EMPOWER_NEWS, uid, payload=payload, priority=priority)


def stock_check(sku_uid: str) -> JobSpec:
    return JobSpec(JobKind.SYNC_STOCK, None, payload={"sku_uid": sku_uid})


def advance(
    record: OrderRecord,
    *events: OrderEvent,
    update: OrderUpdate | None = None,
    history: tuple[HistoryEntry, ...] = (),
    detail: JsonObject | None = None,
) -> Outcome:
    """Move the order through `events`, queueing the job each one calls for."""
    transitions = apply_all(record.state, events)
    follow_ups = tuple(
        order_step(t.follow_up, record.rxscale_uid, record.placement_generation)
        for t in transitions
        if t.follow_up is not None
    )
    return Outcome(
        order_uid=record.rxscale_uid,
        transitions=transitions,
        update=update,
        history=history,
        follow_ups=follow_ups,
        detail=detail or {},
    )


def reject(record: OrderRecord, reason: str, *, request_id: str | None = None) -> Outcome:
    """Record why the order cannot be fulfilled; the hold at RxScale follows."""
    comment = reason if request_id is None else f"{reason} (Empower request_id {request_id})"
    return advance(
        record,
        OrderEvent.REJECT,
        update=OrderUpdate(hold_reason=comment),
        detail={"reason": comment},
    )


def cancelled_at_rxscale(record: OrderRecord) -> Outcome:
    """RxScale shows the order cancelled and nothing was placed: it never will be."""
    return advance(
        record, OrderEvent.CANCEL, detail={"rxscale_status": RxScaleStatus.CANCELLED.value}
    )
