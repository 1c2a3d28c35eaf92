"""Received webhooks: each authentic delivery is recorded once."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection

from connector.store.dialect import insert_or_ignore
from connector.store.tables import received_webhooks_table

received_webhooks = received_webhooks_table


class WebhookOutcome(StrEnum):
    ENQUEUED = "enqueued"  # work was queued for it
    RECORDED = "recorded"  # kept for the record; nothing to do
    IGNORED = "ignored"  # an event type the connector does not act on


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
