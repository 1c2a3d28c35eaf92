"""Intake's hot path (connector.store.new_orders) writes in the driver's own statements
exactly what the SQLAlchemy Core functions write, column by column as stored, and keeps
deduplication exact within a run and across runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from connector.domain.jobs import JobKind, JobSpec, Priority
from connector.domain.lifecycle import OrderState
from connector.domain.workflow import order_step
from connector.receive.intake import intake_orders
from connector.store import order_counts
from connector.store.database import Database
from connector.store.new_orders import NewOrderDelivery, take_in
from connector.store.webhooks import WebhookOutcome, record_webhook

NOW = datetime(2026, 12, 1, 12, 30, 15, 123456, tzinfo=UTC)
EVENT = "pharmacy_order_created"

# Every column but the generated ids, as the database holds it (no type conversion on
# the way out), so that a difference in a stored form (a datetime's text) shows.
STORED = {
    "received_webhooks": "source, dedupe_key, event_type, subject, outcome,"
    " CAST(received_at AS TEXT)",
    "orders": "rxscale_uid, state, placement_generation,"
    " CAST(empower_prescription_tokens AS TEXT), empower_patient_token, empower_order_id,"
    " empower_request_id, empower_status, CAST(created_at AS TEXT),"
    " CAST(updated_at AS TEXT), empower_checked_at",
    "order_events": "rxscale_uid, kind, from_state, to_state, CAST(detail AS TEXT), job_id,"
    " CAST(occurred_at AS TEXT)",
    "jobs": "kind, order_uid, state, CAST(payload AS TEXT), unique_key, priority, attempts,"
    " CAST(run_at AS TEXT), lease_owner, CAST(created_at AS TEXT),"
    " CAST(updated_at AS TEXT), finished_at",
}


async def stored_rows(database: Database, table: str, prefix: str) -> list[tuple[Any, ...]]:
    """Rows about orders named `prefix`-N, with the prefix taken out of every value."""
    subject = {"received_webhooks": "subject", "jobs": "order_uid"}.get(table, "rxscale_uid")
    async with database.connect() as c:
        result = await c.exec_driver_sql(
            f"SELECT {STORED[table]} FROM {table} WHERE {subject} LIKE '{prefix}-%'"  # noqa: S608
        )
        rows = [
            tuple(v.replace(prefix, "*") if isinstance(v, str) else v for v in row)
            for row in result
        ]
    return sorted(rows, key=repr)


def delivery(uid: str, key: str, at: datetime = NOW) -> NewOrderDelivery:
    return NewOrderDelivery(key, uid, at, order_step(JobKind.ACCEPT_ORDER, uid, 0))


async def test_the_hot_path_stores_what_the_core_functions_store(database: Database) -> None:
    received = [NOW - timedelta(milliseconds=n) for n in range(3)]

    async with database.transaction() as c:
        for n, at in enumerate(received):
            await record_webhook(
                c,
                source="rxscale",
                dedupe_key=f"core-key-{n}",
                event_type=EVENT,
                subject=f"core-{n}",
                outcome=WebhookOutcome.ENQUEUED,
                now=at,
            )
        await c.run_sync(intake_orders, [f"core-{n}" for n in range(3)], NOW)
    taken = await database.write_blocking(
        lambda c: take_in(
            c,
            "rxscale",
            EVENT,
            [delivery(f"fast-{n}", f"fast-key-{n}", at) for n, at in enumerate(received)],
            NOW,
        )
    )

    assert taken.recorded == {f"fast-key-{n}" for n in range(3)}
    assert set(taken.jobs) == {f"fast-{n}" for n in range(3)}
    for table in STORED:
        fast = await stored_rows(database, table, "fast")
        assert fast, table
        core = await stored_rows(database, table, "core")
        assert [tuple(str(v).replace("key-", "") for v in row) for row in fast] == [
            tuple(str(v).replace("key-", "") for v in row) for row in core
        ], table
    async with database.connect() as c:
        assert (await order_counts.count_by_state(c))[OrderState.RECEIVED] == 6


async def test_repeats_within_a_run_and_across_runs_take_an_order_in_once(
    database: Database,
) -> None:
    first = await database.write_blocking(
        lambda c: take_in(c, "rxscale", EVENT, [delivery("po-1", "k1")], NOW)
    )
    assert first.recorded == {"k1"}
    assert set(first.jobs) == {"po-1"}

    # The same delivery again, a second delivery about the same order (another event
    # time), and two deliveries about one new order, all in one run.
    second = await database.write_blocking(
        lambda c: take_in(
            c,
            "rxscale",
            EVENT,
            [
                delivery("po-1", "k1"),
                delivery("po-1", "k1-later"),
                delivery("po-2", "k2"),
                delivery("po-2", "k2-later"),
            ],
            NOW,
        )
    )
    assert second.recorded == {"k1-later", "k2", "k2-later"}
    assert set(second.jobs) == {"po-2"}  # po-1's job was queued by the first run

    async with database.connect() as c:
        counts = await order_counts.count_by_state(c)
        assert counts[OrderState.RECEIVED] == 2
        uids = (await c.execute(text("SELECT order_uid FROM jobs"))).scalars().all()
        assert sorted(uids) == ["po-1", "po-2"]
        history = (
            await c.execute(text("SELECT rxscale_uid FROM order_events WHERE kind = 'received'"))
        ).scalars()
        assert sorted(history) == ["po-1", "po-2"]


async def test_an_order_taken_in_before_its_webhook_gets_no_second_job(
    database: Database,
) -> None:
    # Reconciliation found the order first: the webhook is recorded, nothing else.
    async with database.transaction() as c:
        await c.run_sync(intake_orders, ["po-1"], NOW)
    taken = await database.write_blocking(
        lambda c: take_in(c, "rxscale", EVENT, [delivery("po-1", "k1")], NOW)
    )
    assert taken.recorded == {"k1"}
    assert taken.jobs == {}
    async with database.connect() as c:
        assert (await order_counts.count_by_state(c))[OrderState.RECEIVED] == 1
        events = await c.scalar(text("SELECT count(*) FROM order_events"))
        assert events == 1


async def test_a_job_keeps_its_own_delay_payload_and_priority(database: Database) -> None:
    job = JobSpec(
        JobKind.ACCEPT_ORDER,
        "po-1",
        payload={"why": "test"},
        unique_key="accept:po-1:custom",
        delay_seconds=30,
        priority=Priority.PARKED,
    )
    await database.write_blocking(
        lambda c: take_in(c, "rxscale", EVENT, [NewOrderDelivery("k1", "po-1", NOW, job)], NOW)
    )
    async with database.connect() as c:
        row = (
            await c.execute(text("SELECT unique_key, priority, run_at, payload FROM jobs"))
        ).one()
    assert row.unique_key == "accept:po-1:custom"
    assert row.priority == Priority.PARKED
    # Read without column types: PostgreSQL's driver converts, SQLite gives the stored text.
    run_at = row.run_at if isinstance(row.run_at, datetime) else datetime.fromisoformat(row.run_at)
    aware = run_at.astimezone(UTC) if run_at.tzinfo else run_at.replace(tzinfo=UTC)
    assert aware == NOW + timedelta(seconds=30)
    payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
    assert payload == {"why": "test"}
