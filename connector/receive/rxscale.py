"""RxScale deliveries: signature, body, and one transaction that records and enqueues."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.errors import MalformedDelivery
from connector.domain.jobs import JobKind, JobSpec
from connector.domain.lifecycle import RxScaleStatus
from connector.domain.rxscale import RxScaleEventType, RxScaleNews
from connector.domain.workflow import cancellation, order_step, stock_check
from connector.receive.receipt import Receipt, Verdict
from connector.receive.recorder import OneByOne, Recorder, Write, single
from connector.rxscale.webhook import parse_delivery, verify_signature
from connector.store import jobs, new_orders, orders
from connector.store.database import Database, StoreUnavailable
from connector.store.new_orders import NewOrderDelivery
from connector.store.webhooks import WebhookOutcome, dedupe_digest, record_webhook

SOURCE = "rxscale"


@dataclass(frozen=True)
class RxScaleReceiver:
    database: Database
    secrets: Sequence[str] = field(repr=False)
    stock_sync: bool = False
    recorder: Recorder | None = None  # default: a transaction per delivery

    async def receive(self, body: bytes, signature: str | None, now: datetime) -> Receipt:
        """Verify the signature over the raw body, read it, record it once, queue its work."""
        if not verify_signature(body, signature, self.secrets):
            return Receipt(
                Verdict.UNAUTHORIZED,
                reason="signature_missing" if not signature else "signature_mismatch",
                message="unauthorized",
            )
        try:
            news = parse_delivery(body)
        except MalformedDelivery as exc:
            return Receipt(Verdict.MALFORMED, reason="malformed", message=str(exc))
        try:
            return await self._record(news, now)
        except StoreUnavailable as exc:
            return Receipt(
                Verdict.UNAVAILABLE,
                order_uid=news.subject_uid,
                reason=exc.cause_name,
                message="could not record; retry later",
                kind=news.event_type,
            )

    async def _record(self, news: RxScaleNews, now: datetime) -> Receipt:
        recorder = self.recorder or OneByOne(self.database)
        if news.event_type == RxScaleEventType.ORDER_CREATED:
            # The bulk of all traffic, and the same few rows each: written as a run.
            write = Write.blocking(record_new_orders, (news, now), one_statement_on_postgresql=True)
            return await recorder.record(write)
        return await recorder.record(single(functools.partial(self._record_in, news=news, now=now)))

    async def _record_in(
        self, connection: AsyncConnection, *, news: RxScaleNews, now: datetime
    ) -> Receipt:
        uid = news.subject_uid
        work, outcome = await self._work(connection, news)
        fresh = await record_webhook(
            connection,
            source=SOURCE,
            dedupe_key=dedupe_digest(*news.dedupe_parts()),
            event_type=news.event_type,
            subject=uid,
            outcome=outcome,
            now=now,
        )
        if not fresh:
            return Receipt(Verdict.DUPLICATE, order_uid=uid, kind=news.event_type)
        job_ids = await jobs.enqueue(connection, work, now)
        return Receipt(
            Verdict(outcome.value), order_uid=uid, job_ids=tuple(job_ids), kind=news.event_type
        )

    async def _work(
        self, connection: AsyncConnection, news: RxScaleNews
    ) -> tuple[list[JobSpec], WebhookOutcome]:
        """Which jobs the news calls for, and how to record it."""
        match news.event_type:
            case RxScaleEventType.ORDER_CREATED:  # taken in by `record_new_orders`
                return [], WebhookOutcome.ENQUEUED
            case RxScaleEventType.ORDER_UPDATED if news.status == RxScaleStatus.CANCELLED:
                record = await orders.get_order(connection, news.subject_uid)
                if record is None:
                    return [], WebhookOutcome.RECORDED  # never taken in: nothing to cancel
                return [cancellation(record)], WebhookOutcome.ENQUEUED
            case RxScaleEventType.SKU_STOCK_UPDATED if self.stock_sync:
                return [stock_check(news.subject_uid)], WebhookOutcome.ENQUEUED
            case RxScaleEventType.ORDER_UPDATED:
                return [], WebhookOutcome.RECORDED  # other status changes are RxScale's news
            case _:
                return [], WebhookOutcome.IGNORED


def record_new_orders(
    connection: Connection, items: list[tuple[RxScaleNews, datetime]]
) -> list[Receipt]:
    """New-order deliveries, recorded and taken in together. Each gets the receipt it
    would have got alone: a repeat of a delivery earlier in the run or recorded before is
    a duplicate, and only the first delivery that takes an order in lists its job. Its
    only statement is `take_in`'s."""
    keys = [dedupe_digest(*news.dedupe_parts()) for news, _ in items]
    firsts: dict[str, int] = {}
    for index, key in enumerate(keys):
        firsts.setdefault(key, index)
    deliveries = [
        NewOrderDelivery(
            dedupe_key=keys[index],
            uid=items[index][0].subject_uid,
            received_at=items[index][1],
            job=order_step(JobKind.ACCEPT_ORDER, items[index][0].subject_uid, 0),
        )
        for index in firsts.values()
    ]
    now = max(now for _, now in items)
    taken = new_orders.take_in(connection, SOURCE, RxScaleEventType.ORDER_CREATED, deliveries, now)
    receipts = []
    for index, (news, _) in enumerate(items):
        uid = news.subject_uid
        if firsts[keys[index]] != index or keys[index] not in taken.recorded:
            receipts.append(Receipt(Verdict.DUPLICATE, order_uid=uid, kind=news.event_type))
            continue
        job_id = taken.jobs.pop(uid, None)
        receipts.append(
            Receipt(
                Verdict.ENQUEUED,
                order_uid=uid,
                job_ids=() if job_id is None else (job_id,),
                kind=news.event_type,
            )
        )
    return receipts
