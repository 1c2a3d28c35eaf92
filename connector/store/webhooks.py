"""Received webhooks: each authentic delivery is recorded once."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.store.dialect import insert_or_ignore
from connector.store.tables import received_webhooks_table

received_webhooks = received_webhooks_table


class WebhookOutcome(StrEnum):
    ENQUEUED = "enqueued"  # work was queued for it
    RECORDED = "recorded"  # kept for the record; nothing to do
    IGNORED = "ignored"  # an event type the connector does not act on
    # News about an order this connector never placed (Empower's webhook URL is per
    # account): kept for the record after a bounded wait, not retried, not dead.
    UNMATCHED = "unmatched"


def dedupe_digest(*parts: str) -> str:
    """A fixed-length key for any composition of identifying parts."""
    joined = "\x1f".join(parts).encode("utf-8")
    return hashlib.sha256(joined).hexdigest()


async def record_webhook(
    connection: AsyncConnection,
    *,
    source: str,
    dedupe_key: str,
    event_type: str,
    subject: str | None,
    outcome: WebhookOutcome,
    now: datetime,
) -> bool:
    """Record a delivery; False when the same delivery was recorded before."""
    statement = (
        insert_or_ignore(connection, received_webhooks, "source", "dedupe_key")
        .values(
            source=source,
            dedupe_key=dedupe_key,
            event_type=event_type[:64],
            subject=subject,
            outcome=outcome.value,
            received_at=now,
        )
        .returning(received_webhooks.c.id)
    )
    return (await connection.execute(statement)).scalar_one_or_none() is not None


async def mark_unmatched(connection: AsyncConnection, source: str, subjects: Sequence[str]) -> int:
    """Deliveries about these subjects (Empower request ids) matched no order."""
    if not subjects:
        return 0
    statement = (
        update(received_webhooks)
        .where(
            received_webhooks.c.source == source,
            received_webhooks.c.subject.in_(list(subjects)),
            received_webhooks.c.outcome == WebhookOutcome.ENQUEUED.value,
        )
        .values(outcome=WebhookOutcome.UNMATCHED.value)
    )
    return int((await connection.execute(statement)).rowcount)


@dataclass(frozen=True, slots=True)
class ReceivedDelivery:
    source: str
    event_type: str
    subject: str | None
    outcome: str
    received_at: datetime


async def list_by_outcome(
    connection: AsyncConnection, outcome: WebhookOutcome, *, limit: int = 200
) -> list[ReceivedDelivery]:
    statement = (
        select(received_webhooks)
        .where(received_webhooks.c.outcome == outcome.value)
        .order_by(received_webhooks.c.received_at.desc())
        .limit(limit)
    )
    return [
        ReceivedDelivery(row.source, row.event_type, row.subject, row.outcome, row.received_at)
        for row in await connection.execute(statement)
    ]


async def count_by_outcome(connection: AsyncConnection, outcome: WebhookOutcome) -> int:
    """Read through the index on outcome: the cost follows the rows counted, not the table."""
    statement = select(func.count()).where(received_webhooks.c.outcome == outcome.value)
    return int((await connection.execute(statement)).scalar_one())
