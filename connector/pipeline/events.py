"""empower_event: apply one Empower webhook event to its order."""

from __future__ import annotations

from typing import assert_never

from connector.domain.empower import Tracking
from connector.domain.errors import ConflictError, RetryLater
from connector.domain.jobs import Job, JobKind, JobSpec
from connector.domain.lifecycle import OrderEvent, RxScaleStatus, apply
from connector.domain.news import (
    CompleteOrder,
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
from connector.pipeline.base import Handler, log, reject
from connector.store import orders


class ApplyEmpowerEvent(Handler):
    async def run(self, job: Job) -> Outcome:
        news = news_from_payload(job.payload)
        if job.order_uid is None:
            return await self._route(job, news_request_id(news), news)
        record = await self.load(job)
        match news:
            case ShipmentNews():
                return await self._shipment(record, news)
            case OrderNews():
                return self._order_news(record, news)
            case PrescriptionNews():
                return NOTHING
            case _:
                assert_never(news)

    async def _route(
        self, job: Job, request_id: str | None, news: ShipmentNews | OrderNews | PrescriptionNews
    ) -> Outcome:
        """Bind an event that arrived before we knew its order to that order."""
        if request_id is None:
            if isinstance(news, PrescriptionNews):
                log.info("prescription_notified", prescription_token=news.prescription_token)
            return NOTHING
        async with self.deps.database.engine.connect() as connection:
            uid = await orders.find_uid_by_request_id(connection, request_id)
        if uid is None:
            raise RetryLater(f"no order is known for Empower request_id {request_id} yet")
        return Outcome(follow_ups=(JobSpec(JobKind.EMPOWER_EVENT, uid, payload=job.payload),))

    async def _shipment(self, record: OrderRecord, news: ShipmentNews) -> Outcome:
        uid = record.rxscale_uid
        plan = plan_shipment(record.state, news)
        match plan:
            case CompleteOrder(tracking=tracking, then_deliver=then_deliver):
                await self._complete(uid, tracking)
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
                return self._note(record, kind, alert, {"shipment": news.status})
            case _:
                assert_never(plan)

    async def _complete(self, uid: str, tracking: Tracking) -> None:
        try:
            await self.deps.rxscale.complete_order(uid, tracking)
        except ConflictError:
            # An earlier attempt may have completed it and lost the answer.
            order = await self.deps.rxscale.get_order(uid)
            if order.status != RxScaleStatus.COMPLETED:
                raise

    def _order_news(self, record: OrderRecord, news: OrderNews) -> Outcome:
        plan = plan_order_news(record.state, news)
        match plan:
            case RejectOrder(reason=reason):
                log.warning("empower_order_rejected", request_id=news.request_id, code=news.code)
                return reject(
                    record, f"Empower rejected the order: {reason}", request_id=news.request_id
                )
            case RecordStatus(status=status):
                return Outcome(
                    order_uid=record.rxscale_uid, update=OrderUpdate(empower_status=status)
                )
            case NoteOnly(kind=kind, alert=alert):
                return self._note(record, kind, alert, {"empower_status": news.status})
            case _:
                assert_never(plan)

    @staticmethod
    def _note(record: OrderRecord, kind: str, alert: bool, detail: dict[str, object]) -> Outcome:
        event = log.error if alert else log.info
        event("empower_news_noted", kind=kind, state=record.state.value, **detail)
        return Outcome(order_uid=record.rxscale_uid, history=(HistoryEntry(kind, dict(detail)),))
