"""Empower deliveries: the Authorization key, the body, and one transaction that records
and enqueues."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.errors import MalformedDelivery
from connector.domain.news import EmpowerNews, PrescriptionNews, UnknownNews, news_request_id
from connector.domain.outcome import HistoryEntry, OrderUpdate, Outcome
from connector.domain.workflow import news as news_job
from connector.empower.webhook import ALL_AUTH_FORMS, AuthForm, authorized_form, parse_event
from connector.receive.receipt import Receipt, Verdict
from connector.receive.recorder import OneByOne, Recorder, single
from connector.store import jobs, order_queries, orders
from connector.store.database import Database, StoreUnavailable
from connector.store.news_codec import news_to_payload
from connector.store.webhooks import WebhookOutcome, record_webhook

SOURCE = "empower"


@dataclass(frozen=True)
class EmpowerReceiver:
    database: Database
    keys: Sequence[str] = field(repr=False)
    forms: Collection[AuthForm] = ALL_AUTH_FORMS
    recorder: Recorder | None = None  # default: a transaction per delivery

    def authorized(self, header: str | None) -> AuthForm | None:
        """Checked before the body is read: a stranger costs us nothing."""
        return authorized_form(header, self.keys, self.forms)

    def refused(self) -> Receipt:
        return Receipt(Verdict.UNAUTHORIZED, reason="key_mismatch", message="unauthorized")

    async def receive(self, body: bytes, now: datetime) -> Receipt:
        """Read an authorized delivery, record it once and queue its work."""
        try:
            news = parse_event(body)
        except MalformedDelivery as exc:
            return Receipt(Verdict.MALFORMED, reason="malformed", message=str(exc))
        # Empower sends no event id: a byte-identical body is the same delivery.
        digest = hashlib.sha256(body).hexdigest()
        recorder = self.recorder or OneByOne(self.database)
        try:
            if isinstance(news, UnknownNews):
                return await recorder.record(
                    single(
                        functools.partial(self._record_unknown, news=news, digest=digest, now=now)
                    )
                )
            return await recorder.record(
                single(functools.partial(self._record, news=news, digest=digest, now=now))
            )
        except StoreUnavailable as exc:
            return Receipt(
                Verdict.UNAVAILABLE, reason=exc.cause_name, message="could not record; retry later"
            )

    async def _record(
        self, connection: AsyncConnection, *, news: EmpowerNews, digest: str, now: datetime
    ) -> Receipt:
        request_id = news_request_id(news)
        payload = news_to_payload(news)
        uid = (
            await orders.find_uid_by_request_id(connection, request_id)
            if request_id is not None
            else None
        )
        notified = isinstance(news, PrescriptionNews)
        fresh = await record_webhook(
            connection,
            source=SOURCE,
            dedupe_key=digest,
            event_type=payload["type"],
            subject=request_id or payload.get("prescription_token"),
            outcome=WebhookOutcome.RECORDED if notified else WebhookOutcome.ENQUEUED,
            now=now,
        )
        if not fresh:
            return Receipt(Verdict.DUPLICATE, order_uid=uid)
        if isinstance(news, PrescriptionNews):
            await _record_prescription(connection, news, now)
            return Receipt(Verdict.RECORDED)
        if uid is not None:
            heard = Outcome(
                order_uid=uid,
                update=OrderUpdate(heard_from_empower=True),
                history=(HistoryEntry("empower_news", payload),),
            )
            await orders.apply_outcome(connection, heard, now)
        # With no order known yet (its placement may still be committing), the job finds
        # the order itself and re-enqueues the news bound to it.
        job_ids = await jobs.enqueue(connection, [news_job(uid, payload)], now)
        return Receipt(Verdict.ENQUEUED, order_uid=uid, job_ids=tuple(job_ids))

    async def _record_unknown(
        self, connection: AsyncConnection, *, news: UnknownNews, digest: str, now: datetime
    ) -> Receipt:
        fresh = await record_webhook(
            connection,
            source=SOURCE,
            dedupe_key=digest,
            event_type=news.callback_type,
            subject=None,
            outcome=WebhookOutcome.IGNORED,
            now=now,
        )
        verdict = Verdict.UNKNOWN if fresh else Verdict.DUPLICATE
        return Receipt(verdict, kind=news.callback_type)


async def _record_prescription(
    connection: AsyncConnection, news: PrescriptionNews, now: datetime
) -> None:
    """NOTIFY_RX news goes into the history of every order of that patient token."""
    if news.patient_token is None:
        return
    for uid in await order_queries.uids_for_patient_token(connection, news.patient_token):
        entry = HistoryEntry("prescription_notified", news_to_payload(news))
        await orders.add_history(connection, uid, entry, now)
