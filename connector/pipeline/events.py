"""empower_event: apply one Empower webhook event to its order.

The same rules apply to what reconciliation learns by asking Empower (`EmpowerNewsApplier`
serves both): news may come late or twice, and never moves an order backwards.
"""

from __future__ import annotations

import dataclasses
from typing import Any, assert_never

from connector.domain.empower import Tracking
from connector.domain.errors import ConflictError, RetryLater
from connector.domain.jobs import Job, JobKind, JobSpec
from connector.domain.lifecycle import OrderEvent, RxScaleStatus, apply
from connector.domain.news import (
    CompleteOrder,
    MarkReadyForPickup,
    NoteOnly,
    OrderNews,
    PrescriptionNews,
    RecordDelivery,
    RecordStatus,
    RejectOrder,
    ShipmentNews,
    WaitForPlacement,
    news_from_payload,
    news_request_id,
    plan_order_news,
    plan_shipment,
)
from connector.domain.outcome import NOTHING, HistoryEntry, OrderUpdate, Outcome
from connector.domain.records import OrderRecord
from connector.pipeline.base import Dependencies, Handler, cancellation, log, reject
from connector.store import orders


class EmpowerNewsApplier:
    """What Empower's news about an order means for it, carried out at RxScale."""

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    async def apply(self, record: OrderRecord, news: ShipmentNews | OrderNews) -> Outcome:
        outcome = (
            await self._shipment(record, news)
            if isinstance(news, ShipmentNews)
            else self._order_news(record, news)
        )
        return heard(outcome, record.rxscale_uid)

    async def _shipment(self, record: OrderRecord, news: ShipmentNews) -> Outcome:
        uid = record.rxscale_uid
        plan = plan_shipment(record.state, news, self.deps.complete_on, record.tracking)
        match plan:
            case CompleteOrder(tracking=tracking, then_deliver=then_deliver):
                if not await self._complete(uid, tracking):
                    noted = self._note(record, "shipped_after_cancellation", True, news)
                    return dataclasses.replace(noted, follow_ups=(cancellation(record),))
                transitions = [apply(record.state, OrderEvent.COMPLETE)]
                if then_deliver:
                    transitions.append(apply(transitions[-1].after, OrderEvent.DELIVER))
                log.info(
                    "rxscale_order_completed",
                    tracking_number=tracking.tracking_number,
                    carrier=tracking.carrier,
                )
                return Outcome(
                    order_uid=uid,
                    transitions=tuple(transitions),
                    update=OrderUpdate(tracking=tracking, empower_status=news.status),
                    detail={"tracking_number": tracking.tracking_number, "shipment": news.status},
                )
            case MarkReadyForPickup(tracking=tracking):
                await self._set_status(uid, RxScaleStatus.READY_FOR_PICKUP)
                return Outcome(
                    order_uid=uid,
                    transitions=(apply(record.state, OrderEvent.SHIP),),
                    update=OrderUpdate(tracking=tracking, empower_status=news.status),
                    detail={"tracking_number": tracking.tracking_number, "shipment": news.status},
                )
            case RecordDelivery():
                return Outcome(
                    order_uid=uid,
                    transitions=(apply(record.state, OrderEvent.DELIVER),),
                    update=OrderUpdate(empower_status=news.status),
                    detail={"shipment": news.status},
                )
            case WaitForPlacement():
                raise RetryLater(f"shipment news for an order still {record.state.value!r}")
            case NoteOnly(kind=kind, alert=alert):
                return self._note(record, kind, alert, news)
            case _:
                assert_never(plan)

    async def _complete(self, uid: str, tracking: Tracking) -> bool:
        """`complete_order`; False when RxScale had cancelled the order meanwhile."""
        try:
            await self.deps.rxscale.complete_order(uid, tracking)
        except ConflictError:
            # An earlier attempt may have completed it and lost the answer.
            order = await self.deps.rxscale.get_order(uid)
            if order.status == RxScaleStatus.CANCELLED:
                return False
            if order.status != RxScaleStatus.COMPLETED:
                raise
        return True

    async def _set_status(self, uid: str, status: RxScaleStatus) -> None:
        try:
            await self.deps.rxscale.set_status(uid, status)
        except ConflictError:
            order = await self.deps.rxscale.get_order(uid)
            if order.status not in (status, RxScaleStatus.COMPLETED):
                raise

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
                    log.warning("empower_order_status", empower_status=status, message=news.message)
                return Outcome(
                    order_uid=record.rxscale_uid, update=OrderUpdate(empower_status=status)
                )
            case NoteOnly(kind=kind, alert=alert):
                return self._note(record, kind, alert, news)
            case _:
                assert_never(plan)

    @staticmethod
    def _note(
        record: OrderRecord, kind: str, alert: bool, news: ShipmentNews | OrderNews
    ) -> Outcome:
        detail: dict[str, Any] = {"status": news.status}
        event = log.error if alert else log.info
        event("empower_news_noted", kind=kind, state=record.state.value, **detail)
        return Outcome(order_uid=record.rxscale_uid, history=(HistoryEntry(kind, detail),))


def heard(outcome: Outcome, uid: str) -> Outcome:
    """The same outcome, also recording that Empower has just told us about the order."""
    update = dataclasses.replace(outcome.update or OrderUpdate(), heard_from_empower=True)
    return dataclasses.replace(outcome, order_uid=uid, update=update)


class ApplyEmpowerEvent(Handler):
    def __init__(self, deps: Dependencies) -> None:
        super().__init__(deps)
        self.applier = EmpowerNewsApplier(deps)

    async def run(self, job: Job) -> Outcome:
        news = news_from_payload(job.payload)
        if isinstance(news, PrescriptionNews):
            return NOTHING  # recorded by the inbox; nothing to do
        if job.order_uid is None:
            return await self._route(job, news_request_id(news))
        return await self.applier.apply(await self.load(job), news)

    async def _route(self, job: Job, request_id: str | None) -> Outcome:
        """Bind an event that arrived before we knew its order to that order."""
        if request_id is None:
            return NOTHING
        async with self.deps.database.engine.connect() as connection:
            uid = await orders.find_uid_by_request_id(connection, request_id)
        if uid is None:
            raise RetryLater(f"no order is known for Empower request_id {request_id} yet")
        return Outcome(follow_ups=(JobSpec(JobKind.EMPOWER_EVENT, uid, payload=job.payload),))
