"""What a webhook receiver does in its one transaction: record the delivery once and
enqueue the work it calls for. Nothing here talks to a partner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.jobs import JobKind, JobSpec
from connector.domain.lifecycle import RxScaleStatus
from connector.domain.news import (
    EmpowerNews,
    PrescriptionNews,
    news_request_id,
    news_to_payload,
)
from connector.domain.outcome import HistoryEntry, OrderUpdate, Outcome
from connector.pipeline.base import cancellation
from connector.rxscale.webhook import RxScaleDelivery, RxScaleEvent
from connector.store import jobs, orders
from connector.store.database import Database
from connector.store.webhooks import WebhookOutcome, dedupe_digest, record_webhook

RXSCALE = "rxscale"
EMPOWER = "empower"


@dataclass(frozen=True, slots=True)
class InboxResult:
    duplicate: bool
    outcome: WebhookOutcome
    order_uid: str | None = None
    job_ids: tuple[int, ...] = ()


async def take_in_order(connection: AsyncConnection, uid: str, now: datetime) -> list[int]:
    """Start the mapping for a new RxScale order and queue its intake (once, ever)."""
    await orders.create_order_if_absent(connection, uid, now)
    return await jobs.enqueue(
        connection, [JobSpec(JobKind.ACCEPT_ORDER, uid, unique_key=f"accept:{uid}")], now
    )


async def take_rxscale_delivery(
    database: Database, delivery: RxScaleDelivery, now: datetime, *, stock_sync: bool = False
) -> InboxResult:
    uid = delivery.subject_uid
    async with database.transaction() as connection:
        work, outcome = await _rxscale_work(connection, delivery, stock_sync=stock_sync)
        fresh = await record_webhook(
            connection,
            source=RXSCALE,
            dedupe_key=dedupe_digest(*delivery.dedupe_parts()),
            event_type=delivery.event_type,
            subject=uid,
            outcome=outcome,
            now=now,
        )
        if not fresh:
            return InboxResult(duplicate=True, outcome=outcome, order_uid=uid)
        if delivery.event_type == RxScaleEvent.ORDER_CREATED:
            job_ids = await take_in_order(connection, uid, now)
        else:
            job_ids = await jobs.enqueue(connection, work, now)
    return InboxResult(duplicate=False, outcome=outcome, order_uid=uid, job_ids=tuple(job_ids))


async def _rxscale_work(
    connection: AsyncConnection, delivery: RxScaleDelivery, *, stock_sync: bool
) -> tuple[list[JobSpec], WebhookOutcome]:
    """Which jobs an RxScale event calls for, and how to record it."""
    uid = delivery.subject_uid
    match delivery.event_type:
        case RxScaleEvent.ORDER_CREATED:
            return [], WebhookOutcome.ENQUEUED
        case RxScaleEvent.ORDER_UPDATED if delivery.status == RxScaleStatus.CANCELLED:
            record = await orders.get_order(connection, uid)
            if record is None:
                return [], WebhookOutcome.RECORDED  # never taken in: nothing to cancel
            return [cancellation(record)], WebhookOutcome.ENQUEUED
        case RxScaleEvent.SKU_STOCK_UPDATED if stock_sync:
            spec = JobSpec(JobKind.SYNC_STOCK, None, payload={"sku_uid": uid})
            return [spec], WebhookOutcome.ENQUEUED
        case RxScaleEvent.ORDER_UPDATED:
            return [], WebhookOutcome.RECORDED  # other status changes are RxScale's news to us
        case _:
            return [], WebhookOutcome.IGNORED


async def take_empower_delivery(
    database: Database, news: EmpowerNews, body_digest: str, now: datetime
) -> InboxResult:
    request_id = news_request_id(news)
    payload = news_to_payload(news)
    async with database.transaction() as connection:
        uid = (
            await orders.find_uid_by_request_id(connection, request_id)
            if request_id is not None
            else None
        )
        notified = isinstance(news, PrescriptionNews)
        fresh = await record_webhook(
            connection,
            source=EMPOWER,
            dedupe_key=body_digest,
            event_type=payload["type"],
            subject=request_id or payload.get("prescription_token"),
            outcome=WebhookOutcome.RECORDED if notified else WebhookOutcome.ENQUEUED,
            now=now,
        )
        if not fresh:
            return InboxResult(duplicate=True, outcome=WebhookOutcome.ENQUEUED, order_uid=uid)
        if isinstance(news, PrescriptionNews):
            await _record_prescription(connection, news, now)
            return InboxResult(duplicate=False, outcome=WebhookOutcome.RECORDED)
        if uid is not None:
            await orders.apply_outcome(
                connection,
                Outcome(
                    order_uid=uid,
                    update=OrderUpdate(heard_from_empower=True),
                    history=(HistoryEntry("empower_news", payload),),
                ),
                now,
            )
        # With no order known yet (its placement may still be committing), the job finds the
        # order itself and re-enqueues the event bound to it.
        job_ids = await jobs.enqueue(
            connection, [JobSpec(JobKind.EMPOWER_EVENT, uid, payload=payload)], now
        )
    return InboxResult(
        duplicate=False, outcome=WebhookOutcome.ENQUEUED, order_uid=uid, job_ids=tuple(job_ids)
    )


async def _record_prescription(
    connection: AsyncConnection, news: PrescriptionNews, now: datetime
) -> None:
    """A NOTIFY_RX event goes into the history of every order of that patient token."""
    if news.patient_token is None:
        return
    for uid in await orders.uids_for_patient_token(connection, news.patient_token):
        entry = HistoryEntry("prescription_notified", news_to_payload(news))
        await orders.add_history(connection, uid, entry, now)


async def record_unknown_empower_delivery(
    database: Database, callback_type: str, body_digest: str, now: datetime
) -> InboxResult:
    async with database.transaction() as connection:
        fresh = await record_webhook(
            connection,
            source=EMPOWER,
            dedupe_key=body_digest,
            event_type=callback_type,
            subject=None,
            outcome=WebhookOutcome.IGNORED,
            now=now,
        )
    return InboxResult(duplicate=not fresh, outcome=WebhookOutcome.IGNORED)
