"""What a webhook receiver does in its one transaction: record the delivery once and
enqueue the work it calls for. Nothing here talks to a partner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connector.domain.jobs import JobKind, JobSpec
from connector.domain.news import EmpowerNews, news_request_id, news_to_payload
from connector.domain.outcome import HistoryEntry
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


async def take_rxscale_delivery(
    database: Database, delivery: RxScaleDelivery, now: datetime
) -> InboxResult:
    uid = delivery.subject_uid
    acts = delivery.event_type == RxScaleEvent.ORDER_CREATED
    outcome = WebhookOutcome.ENQUEUED if acts else WebhookOutcome.IGNORED
    async with database.transaction() as connection:
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
        if not acts:
            return InboxResult(duplicate=False, outcome=outcome, order_uid=uid)
        await orders.create_order_if_absent(connection, uid, now)
        job_ids = await jobs.enqueue(
            connection,
            [JobSpec(JobKind.ACCEPT_ORDER, uid, unique_key=f"accept:{uid}")],
            now,
        )
    return InboxResult(duplicate=False, outcome=outcome, order_uid=uid, job_ids=tuple(job_ids))


async def take_empower_delivery(
    database: Database, news: EmpowerNews, body_digest: str, now: datetime
) -> InboxResult:
    request_id = news_request_id(news)
    async with database.transaction() as connection:
        uid = (
            await orders.find_uid_by_request_id(connection, request_id)
            if request_id is not None
            else None
        )
        fresh = await record_webhook(
            connection,
            source=EMPOWER,
            dedupe_key=body_digest,
            event_type=news_to_payload(news)["type"],
            subject=request_id,
            outcome=WebhookOutcome.ENQUEUED,
            now=now,
        )
        if not fresh:
            return InboxResult(duplicate=True, outcome=WebhookOutcome.ENQUEUED, order_uid=uid)
        if uid is not None:
            await orders.add_history(
                connection, uid, HistoryEntry("empower_news", news_to_payload(news)), now
            )
        # With no order known yet (its placement may still be committing), the job finds the
        # order itself and re-enqueues the event bound to it.
        job_ids = await jobs.enqueue(
            connection, [JobSpec(JobKind.EMPOWER_EVENT, uid, payload=news_to_payload(news))], now
        )
    return InboxResult(
        duplicate=False, outcome=WebhookOutcome.ENQUEUED, order_uid=uid, job_ids=tuple(job_ids)
    )


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
