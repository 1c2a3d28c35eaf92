"""Intake's hot path: a run of new-order deliveries recorded, and their orders taken in,
in the driver's own statements.

New-order webhooks are nearly all the traffic the connector takes, and the rows they
write are always the same few: the delivery, the order's mapping, its first history
entry, the per-state count and the order's first job. Written through SQLAlchemy Core
(`webhooks`, `orders`, `jobs`), a delivery cost 100 µs of CPU on SQLite in runs of 32,
most of it SQLAlchemy's per-row work (bind processors, parameter construction) rather
than SQLite's; here it costs about half that, row by row in five statements whose text
never changes. On PostgreSQL the whole run is one statement (data-modifying CTEs over
arrays): one round trip instead of six.

What is written is exactly what the Core functions write (the same columns, the same
stored forms); `tests/integration/test_new_orders.py` compares the two row by row.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from connector.domain.jobs import JobSpec, JobState
from connector.domain.lifecycle import OrderState
from connector.store.jobs import NOTIFY_CHANNEL
from connector.store.webhooks import WebhookOutcome

RECEIVED = OrderState.RECEIVED.value


@dataclass(frozen=True, slots=True)
class NewOrderDelivery:
    """One authentic new-order delivery and the job that takes its order in."""

    dedupe_key: str
    uid: str
    received_at: datetime
    job: JobSpec


@dataclass(frozen=True)
class TakenIn:
    recorded: set[str]  # dedupe keys recorded now (the others were recorded before)
    jobs: dict[str, int]  # the job queued now, by order uid


def take_in(
    connection: Connection,
    source: str,
    event_type: str,
    deliveries: Sequence[NewOrderDelivery],
    now: datetime,
) -> TakenIn:
    """Record each delivery once; for each recorded now, start its order's mapping (once
    ever) and queue its job (once ever, by the job's unique key). Deliveries repeated
    within `deliveries` must have been removed by the caller. Blocking code: on SQLite it
    runs on the blocking writer (`Database.write_blocking`). On PostgreSQL it sends
    exactly one statement, which intake relies on to run it outside a transaction block
    (`Write.one_statement_on_postgresql`)."""
    if not deliveries:
        return TakenIn(set(), {})
    if connection.dialect.name == "postgresql":
        return _take_in_postgresql(connection, source, event_type, deliveries, now)
    return _take_in_sqlite(connection, source, event_type, deliveries, now)


def _sqlite_time(moment: datetime) -> str:
    """How `types.UTCDateTime` stores a moment in SQLite: naive UTC text, microseconds."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


_SQLITE_DELIVERY = (
    "INSERT INTO received_webhooks (source, dedupe_key, event_type, subject, outcome,"
    " received_at) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING 1"
)
_SQLITE_ORDER = (
    "INSERT INTO orders (rxscale_uid, state, placement_generation,"
    " empower_prescription_tokens, created_at, updated_at) VALUES (?, ?, 0, '[]', ?, ?)"
    " ON CONFLICT (rxscale_uid) DO NOTHING RETURNING 1"
)
_SQLITE_HISTORY = (
    "INSERT INTO order_events (rxscale_uid, kind, from_state, to_state, detail, job_id,"
    " occurred_at) VALUES (?, 'received', NULL, ?, '{}', NULL, ?)"
)
_SQLITE_JOB = (
    "INSERT INTO jobs (kind, order_uid, state, payload, unique_key, priority, attempts,"
    " run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)"
    " ON CONFLICT (unique_key) DO NOTHING RETURNING id"
)
# A state the migration did not seed starts at its own count (as in `order_counts`).
_SQLITE_COUNT = (
    "INSERT INTO order_counts (state, orders) VALUES (?, ?)"
    " ON CONFLICT (state) DO UPDATE SET orders = order_counts.orders + excluded.orders"
)


def _inserted(cursor: Any, statement: str, row: Sequence[Any]) -> Any:
    """The row `statement`'s RETURNING gave, or None when it inserted nothing."""
    cursor.execute(statement, row)
    return cursor.fetchone()


def _take_in_sqlite(
    connection: Connection,
    source: str,
    event_type: str,
    deliveries: Sequence[NewOrderDelivery],
    now: datetime,
) -> TakenIn:
    # Row by row, in the same five statements whatever the run's size: SQLite runs them
    # in-process for a few microseconds each, and each connection keeps its prepared
    # statements by text, so statements whose text grew with the run (a VALUES row per
    # delivery, an IN list per key) would fill that cache with large ones, for good.
    # The DBAPI connection: sqlite3's own in the blocking writer; in a transaction on the
    # async engine (a batch mixing kinds of delivery), SQLAlchemy's adapter over aiosqlite,
    # which speaks the same DBAPI inside `run_sync`.
    dbapi = connection.connection.dbapi_connection
    with contextlib.closing(dbapi.cursor()) as cursor:  # type: ignore[union-attr]
        stamp = _sqlite_time(now)
        kind, outcome = event_type[:64], WebhookOutcome.ENQUEUED.value
        recorded: set[str] = set()
        queued: dict[str, int] = {}
        created = 0
        for delivery in deliveries:
            uid, received = delivery.uid, _sqlite_time(delivery.received_at)
            row = (source, delivery.dedupe_key, kind, uid, outcome, received)
            if _inserted(cursor, _SQLITE_DELIVERY, row) is None:
                continue  # recorded before
            recorded.add(delivery.dedupe_key)
            if _inserted(cursor, _SQLITE_ORDER, (uid, RECEIVED, stamp, stamp)) is not None:
                created += 1
                cursor.execute(_SQLITE_HISTORY, (uid, RECEIVED, stamp))
            job = delivery.job
            job_row = (
                job.kind.value,
                uid,
                JobState.QUEUED.value,
                json.dumps(job.payload),
                job.unique_key,
                int(job.priority),
                _sqlite_time(now + timedelta(seconds=job.delay_seconds)),
                stamp,
                stamp,
            )
            job_id = _inserted(cursor, _SQLITE_JOB, job_row)
            if job_id is not None:
                queued[uid] = int(job_id[0])
        if created:
            cursor.execute(_SQLITE_COUNT, (RECEIVED, created))
        return TakenIn(recorded, queued)


# One statement for the whole run. Each CTE sees the others only through RETURNING, which
# is all it needs: an order is taken in only for a delivery recorded now, its history and
# count follow only the orders created now, and a job is queued only for a delivery
# recorded now. `woken` is a plain SELECT, run only because the last SELECT reads it: the
# listening replicas hear of the new jobs when this statement's transaction commits.
_POSTGRESQL_TAKE_IN = text(
    """
WITH incoming AS (
    SELECT * FROM unnest(
        CAST(:dedupe_keys AS text[]), CAST(:uids AS text[]),
        CAST(:received_ats AS timestamptz[]), CAST(:job_kinds AS text[]),
        CAST(:job_payloads AS text[]), CAST(:job_keys AS text[]),
        CAST(:job_priorities AS smallint[]), CAST(:job_run_ats AS timestamptz[])
    ) AS incoming(dedupe_key, uid, received_at, job_kind, job_payload, job_key,
                  job_priority, job_run_at)
),
recorded AS (
    INSERT INTO received_webhooks (source, dedupe_key, event_type, subject, outcome,
                                   received_at)
    SELECT :source, dedupe_key, :event_type, uid, :outcome, received_at FROM incoming
    ON CONFLICT (source, dedupe_key) DO NOTHING
    RETURNING dedupe_key
),
taken AS (
    SELECT incoming.* FROM incoming JOIN recorded USING (dedupe_key)
),
created AS (
    INSERT INTO orders (rxscale_uid, state, placement_generation,
                        empower_prescription_tokens, created_at, updated_at)
    SELECT uid, CAST(:received AS text), 0, CAST('[]' AS json),
           CAST(:now AS timestamptz), CAST(:now AS timestamptz)
    FROM (SELECT DISTINCT uid FROM taken) AS taken_uids
    ON CONFLICT (rxscale_uid) DO NOTHING
    RETURNING rxscale_uid
),
history AS (
    INSERT INTO order_events (rxscale_uid, kind, from_state, to_state, detail, job_id,
                              occurred_at)
    SELECT rxscale_uid, 'received', NULL, CAST(:received AS text), CAST('{}' AS json), NULL,
           CAST(:now AS timestamptz)
    FROM created
),
counted AS (
    INSERT INTO order_counts (state, orders)
    SELECT CAST(:received AS text), count(*) FROM created HAVING count(*) > 0
    ON CONFLICT (state) DO UPDATE SET orders = order_counts.orders + excluded.orders
),
queued AS (
    INSERT INTO jobs (kind, order_uid, state, payload, unique_key, priority, attempts,
                      run_at, created_at, updated_at)
    SELECT job_kind, uid, CAST(:queued AS text), CAST(job_payload AS json), job_key,
           job_priority, 0, job_run_at, CAST(:now AS timestamptz), CAST(:now AS timestamptz)
    FROM taken
    ON CONFLICT (unique_key) DO NOTHING
    RETURNING id, order_uid
),
woken AS (
    SELECT pg_notify(:channel, '') FROM (SELECT 1 FROM queued LIMIT 1) AS any_job
)
SELECT 'recorded' AS what, dedupe_key AS subject, NULL::bigint AS job_id FROM recorded
UNION ALL SELECT 'queued', order_uid, id FROM queued
UNION ALL SELECT 'woken', NULL, NULL FROM woken
"""
)


def _take_in_postgresql(
    connection: Connection,
    source: str,
    event_type: str,
    deliveries: Sequence[NewOrderDelivery],
    now: datetime,
) -> TakenIn:
    parameters: dict[str, Any] = {
        "source": source,
        "event_type": event_type[:64],
        "outcome": WebhookOutcome.ENQUEUED.value,
        "now": now,
        "channel": NOTIFY_CHANNEL,
        "received": RECEIVED,
        "queued": JobState.QUEUED.value,
        "dedupe_keys": [d.dedupe_key for d in deliveries],
        "uids": [d.uid for d in deliveries],
        "received_ats": [d.received_at for d in deliveries],
        "job_kinds": [d.job.kind.value for d in deliveries],
        "job_payloads": [json.dumps(d.job.payload) for d in deliveries],
        "job_keys": [d.job.unique_key for d in deliveries],
        "job_priorities": [int(d.job.priority) for d in deliveries],
        "job_run_ats": [now + timedelta(seconds=d.job.delay_seconds) for d in deliveries],
    }
    recorded: set[str] = set()
    queued: dict[str, int] = {}
    for what, subject, job_id in connection.execute(_POSTGRESQL_TAKE_IN, parameters):
        if what == "recorded":
            recorded.add(subject)
        elif what == "queued":
            queued[subject] = int(job_id)
    return TakenIn(recorded, queued)
