"""empower_news: apply one piece of Empower news to its order.

The same rules apply to what reconciliation learns by asking Empower (`EmpowerNewsApplier`
serves both): news may come late or twice, and never moves an order backwards.
"""

from __future__ import annotations

import dataclasses
from typing import Any, assert_never

from connector.domain.accept import AT_OR_BEYOND_IN_PROGRESS
from connector.domain.empower import Tracking
from connector.domain.errors import RetryLater
from connector.domain.jobs import Job
from connector.domain.lifecycle import OrderEvent, RxScaleStatus
from connector.domain.news import (
    CompleteOrder,
    KeepShipment,
    MarkReadyForPickup,
    NoteOnly,
    OrderNews,
    PrescriptionNews,
    RecordDelivery,
    RecordStatus,
    RejectOrder,
    ShipmentNews,
    WaitForPlacement,
    news_request_id,
    plan_order_news,
    plan_shipment,
)
from connector.domain.outcome import NOTHING, HistoryEntry, OrderUpdate, Outcome
from connector.domain.records import OrderRecord
from connector.domain.workflow import advance, cancellation, news, reject
from connector.store import orders
from connector.store.news_codec import news_from_payload
from connector.work.base import Dependencies, Handler, log
from connector.work.converge import (
    Elsewhere,
    complete_at_rxscale,
    reach_rxscale_status,
)

# How long a shipment Empower's API does not show is looked for again before it is
# recorded as unconfirmed (and alerted). Reconciliation still finds a real one later.
CONFIRM_PATIENCE_SECONDS = 600.0


class EmpowerNewsApplier:
    """What Empower's news about an order means for it, carried out at RxScale."""

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    async def apply(
        self,
        record: OrderRecord,
        news: ShipmentNews | OrderNews,
        *,
        again: bool = False,
        from_empower_api: bool = False,
        waited_seconds: float = 0.0,
    ) -> Outcome:
        """`again`: the job runs again, so a write it makes may have happened already.
        `from_empower_api`: the news was read from Empower's API, not heard by webhook, so
        it needs no confirmation. `waited_seconds`: since the news arrived."""
        if isinstance(news, ShipmentNews):
            confirm = self.deps.confirm_shipments and not from_empower_api
            outcome = await self._shipment(record, news, again, confirm, waited_seconds)
        else:
            outcome = self._order_news(record, news)
        return heard(outcome, record.rxscale_uid)

    async def _shipment(
        self,
        record: OrderRecord,
        news: ShipmentNews,
        again: bool,
        confirm: bool,
        waited_seconds: float,
    ) -> Outcome:
        uid = record.rxscale_uid
        plan = plan_shipment(record.state, news, self.deps.complete_on, record.tracking)
        if confirm and isinstance(plan, CompleteOrder | MarkReadyForPickup):
            doubt = await self._unconfirmed(record, plan.tracking, waited_seconds)
            if doubt is not None:
                return doubt
        match plan:
            case CompleteOrder(tracking=tracking, then_deliver=then_deliver, start_first=first):
                if first and (stopped := await self._start(record, news)) is not None:
                    return stopped
                result = await complete_at_rxscale(
                    self.deps.rxscale, uid, tracking, read_first=again
                )
                if isinstance(result, Elsewhere):
                    if result.found != RxScaleStatus.CANCELLED:
                        raise result.refusal
                    return _shipped_after_cancellation(record, news)
                log.info(
                    "rxscale_order_completed",
                    tracking_number=tracking.tracking_number,
                    carrier=tracking.carrier,
                )
                events = [OrderEvent.START] if first else []
                events.append(OrderEvent.COMPLETE)
                if then_deliver:
                    events.append(OrderEvent.DELIVER)
                return advance(
                    record,
                    *events,
                    update=OrderUpdate(tracking=tracking, empower_status=news.status),
                    detail={"tracking_number": tracking.tracking_number, "shipment": news.status},
                )
            case MarkReadyForPickup(tracking=tracking, start_first=first):
                if first and (stopped := await self._start(record, news)) is not None:
                    return stopped
                result = await reach_rxscale_status(
                    self.deps.rxscale,
                    uid,
                    RxScaleStatus.READY_FOR_PICKUP,
                    or_beyond={RxScaleStatus.COMPLETED},
                )
                if isinstance(result, Elsewhere):
                    if result.found != RxScaleStatus.CANCELLED:
                        raise result.refusal
                    return _shipped_after_cancellation(record, news)
                return advance(
                    record,
                    *((OrderEvent.START, OrderEvent.SHIP) if first else (OrderEvent.SHIP,)),
                    update=OrderUpdate(tracking=tracking, empower_status=news.status),
                    detail={"tracking_number": tracking.tracking_number, "shipment": news.status},
                )
            case KeepShipment(tracking=tracking):
                detail = {"shipment": news.status}
                if tracking is not None:
                    detail["tracking_number"] = tracking.tracking_number
                return Outcome(
                    order_uid=uid,
                    update=OrderUpdate(tracking=tracking, empower_status=news.status),
                    history=(HistoryEntry("shipment_after_cancellation", detail),),
                )
            case RecordDelivery():
                return advance(
                    record,
                    OrderEvent.DELIVER,
                    update=OrderUpdate(empower_status=news.status),
                    detail={"shipment": news.status},
                )
            case WaitForPlacement():
                raise RetryLater(f"shipment news for an order still {record.state.value!r}")
            case NoteOnly(kind=kind, alert=alert):
                return _note(record, kind, alert, news)
            case _:
                assert_never(plan)

    async def _unconfirmed(
        self, record: OrderRecord, tracking: Tracking, waited_seconds: float
    ) -> Outcome | None:
        """None when Empower's own API shows a shipment with this tracking number. A webhook
        is only as good as its key; completing an order at RxScale moves money and stock,
        so a shipment Empower cannot show is recorded and alerted, never relayed."""
        order_id = record.empower_order_id
        if order_id is not None:
            order = await self.deps.empower.get_order(order_id)
            shown = {s.tracking.tracking_number for s in order.shipments if s.tracking}
            if tracking.tracking_number in shown:
                return None
        if waited_seconds < CONFIRM_PATIENCE_SECONDS:
            # Empower's API may trail its own webhook by a moment.
            raise RetryLater("Empower's API does not show this shipment yet")
        log.error(
            "shipment_unconfirmed",
            empower_order_id=order_id,
            tracking_number=tracking.tracking_number,
            waited_seconds=round(waited_seconds),
        )
        detail = {"tracking_number": tracking.tracking_number, "empower_order_id": order_id}
        return Outcome(
            order_uid=record.rxscale_uid,
            history=(HistoryEntry("shipment_unconfirmed", detail),),
        )

    async def _start(self, record: OrderRecord, news: ShipmentNews) -> Outcome | None:
        """Tell RxScale `in-progress` before a shipment that overtook that step; an outcome
        only when the order turns out cancelled there."""
        result = await reach_rxscale_status(
            self.deps.rxscale,
            record.rxscale_uid,
            RxScaleStatus.IN_PROGRESS,
            or_beyond=AT_OR_BEYOND_IN_PROGRESS,
        )
        if isinstance(result, Elsewhere):
            if result.found != RxScaleStatus.CANCELLED:
                raise result.refusal
            return _shipped_after_cancellation(record, news)
        return None

    def _order_news(self, record: OrderRecord, news: OrderNews) -> Outcome:
        plan = plan_order_news(record.state, news)
        match plan:
            case RejectOrder(reason=reason):
                log.warning("empower_order_rejected", request_id=news.request_id, code=news.code)
                return reject(
                    record, f"Empower rejected the order: {reason}", request_id=news.request_id
                )
            case RecordStatus(status=status, alert=alert):
                if alert:
                    log.warning("empower_order_status", empower_status=status, code=news.code)
                return Outcome(
                    order_uid=record.rxscale_uid, update=OrderUpdate(empower_status=status)
                )
            case NoteOnly(kind=kind, alert=alert):
                return _note(record, kind, alert, news)
            case _:
                assert_never(plan)


def _note(record: OrderRecord, kind: str, alert: bool, news: ShipmentNews | OrderNews) -> Outcome:
    detail: dict[str, Any] = {"status": news.status}
    event = log.error if alert else log.info
    event("empower_news_noted", kind=kind, state=record.state.value, **detail)
    return Outcome(order_uid=record.rxscale_uid, history=(HistoryEntry(kind, detail),))


def _shipped_after_cancellation(record: OrderRecord, news: ShipmentNews) -> Outcome:
    """RxScale cancelled the order, Empower shipped it: the cancellation job finds out that
    Empower refuses it, and the order comes to rest as `cancel_refused`."""
    noted = _note(record, "shipped_after_cancellation", True, news)
    return dataclasses.replace(noted, follow_ups=(cancellation(record),))


def heard(outcome: Outcome, uid: str) -> Outcome:
    """The same outcome, also recording that Empower has just told us about the order."""
    update = dataclasses.replace(outcome.update or OrderUpdate(), heard_from_empower=True)
    return dataclasses.replace(outcome, order_uid=uid, update=update)


class ApplyEmpowerNews(Handler):
    def __init__(self, deps: Dependencies) -> None:
        super().__init__(deps)
        self.applier = EmpowerNewsApplier(deps)

    async def run(self, job: Job) -> Outcome:
        received = news_from_payload(job.payload)
        if isinstance(received, PrescriptionNews):
            return NOTHING  # recorded on receipt; nothing to do
        if job.order_uid is None:
            return await self._route(job, news_request_id(received))
        again = job.attempts > 1
        waited = (self.deps.clock.now() - job.created_at).total_seconds()
        return await self.applier.apply(
            await self.load(job), received, again=again, waited_seconds=waited
        )

    async def _route(self, job: Job, request_id: str | None) -> Outcome:
        """Bind news that arrived before we knew its order to that order. News that still
        matches no order after a bounded wait is about an order placed by other means
        (Empower's webhook URL is per account): kept as unmatched, not retried for days."""
        if request_id is None:
            return NOTHING
        async with self.deps.database.connect() as connection:
            uid = await orders.find_uid_by_request_id(connection, request_id)
        if uid is not None:
            return Outcome(follow_ups=(news(uid, job.payload),))
        waited = (self.deps.clock.now() - job.created_at).total_seconds()
        if waited < self.deps.unmatched_after_seconds:
            raise RetryLater(f"no order is known for Empower request_id {request_id} yet")
        log.warning("empower_news_unmatched", request_id=request_id, waited_seconds=round(waited))
        return Outcome(unmatched=(request_id,), detail={"unmatched": request_id})
