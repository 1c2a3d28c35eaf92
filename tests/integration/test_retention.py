"""Retention and constant-cost figures on a real database (connector.store.retention,
connector.store.orders counts, connector.work.prune)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.clock import SystemClock
from connector.domain.jobs import Job, JobKind, JobSpec, JobState
from connector.domain.lifecycle import OrderEvent, OrderState, apply_all
from connector.domain.mapping import MappingPolicy
from connector.domain.outcome import HistoryEntry, Outcome
from connector.store import jobs, order_counts, order_queries, orders
from connector.store.database import Database
from connector.store.retention import prune_batch
from connector.store.tables import jobs_table, order_events_table, received_webhooks_table
from connector.store.webhooks import WebhookOutcome, record_webhook
from connector.work.base import Dependencies
from connector.work.prune import Prune

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=200)
DELIVERED = (
    OrderEvent.ACCEPT,
    OrderEvent.PLACE,
    OrderEvent.START,
    OrderEvent.COMPLETE,
    OrderEvent.DELIVER,
)


async def an_order(
    c: AsyncConnection, uid: str, events: tuple[OrderEvent, ...], at: datetime
) -> None:
    await orders.create_order_if_absent(c, uid, at)
    if events:
        moves = apply_all(OrderState.RECEIVED, events)
        await orders.apply_outcome(c, Outcome(uid, moves), at)


async def rows(database: Database, table: Table) -> int:
    async with database.connect() as c:
        return int((await c.execute(select(func.count()).select_from(table))).scalar_one())


async def test_orders_are_counted_by_state_as_they_move(database: Database) -> None:
    async with database.transaction() as c:
        await an_order(c, "po-1", DELIVERED, NOW)
        await an_order(c, "po-2", (OrderEvent.ACCEPT, OrderEvent.REJECT, OrderEvent.HOLD), NOW)
        await an_order(c, "po-3", (OrderEvent.CANCEL,), NOW)
        await an_order(c, "po-4", (), NOW)
        await orders.rerun(c, "po-2", NOW)
        counted = await order_counts.count_by_state(c)
        grouped = select(orders.orders.c.state, func.count()).group_by(orders.orders.c.state)
        actual = {state: count for state, count in (await c.execute(grouped)).all()}
    assert {s.value: n for s, n in counted.items() if n} == actual
    assert counted[OrderState.RECEIVED] == 2  # po-4, and po-2 re-run
    assert counted[OrderState.ON_HOLD] == 0


async def test_old_done_work_is_pruned_in_batches_and_live_work_kept(database: Database) -> None:
    async with database.transaction() as c:
        await an_order(c, "po-done", DELIVERED, LONG_AGO)
        await an_order(c, "po-open", (OrderEvent.ACCEPT,), LONG_AGO)
        for n in range(7):
            spec = JobSpec(JobKind.RECONCILE, None, unique_key=f"old-{n}")
            await jobs.enqueue(c, [spec], LONG_AGO)
            [claimed] = await jobs.claim(c, "w", 1, LONG_AGO, 60)
            await jobs.complete(c, claimed.id, "w", LONG_AGO)
        await jobs.enqueue(c, [JobSpec(JobKind.ACCEPT_ORDER, "po-open")], LONG_AGO)  # queued
        for n in range(5):
            await record_webhook(
                c,
                source="rxscale",
                dedupe_key=f"k{n}",
                event_type="pharmacy_order_created",
                subject=f"po-{n}",
                outcome=WebhookOutcome.ENQUEUED,
                now=LONG_AGO if n < 4 else NOW,
            )
        await orders.add_history(c, "po-done", HistoryEntry("note", {}), LONG_AGO)
    cutoff = NOW - timedelta(days=90)
    async with database.transaction() as c:
        assert await prune_batch(c, "jobs", cutoff, rows=3) == 3
    async with database.transaction() as c:
        assert await prune_batch(c, "jobs", cutoff, rows=3) == 3
    deps = Dependencies(
        database=database,
        rxscale=None,  # type: ignore[arg-type]
        empower=None,  # type: ignore[arg-type]
        policy=MappingPolicy(),
        clock=SystemClock(),
        retention_days=90,
    )
    now = SystemClock().now()
    outcome = await Prune(deps).run(Job(1, JobKind.PRUNE, None, {}, 1, JobState.RUNNING, now, now))
    assert outcome.detail == {"jobs": 1, "received_webhooks": 4, "order_events": 7}
    assert await rows(database, jobs_table) == 1  # the queued job stays
    assert await rows(database, received_webhooks_table) == 1  # the recent delivery stays
    async with database.connect() as c:
        kept = {h.rxscale_uid for h in await order_queries.order_history(c, "po-open")}
        gone = await order_queries.order_history(c, "po-done")
        assert await orders.get_order(c, "po-done") is not None  # the mapping stays
    assert kept == {"po-open"}
    assert gone == []
    assert await rows(database, order_events_table) == 2  # po-open's received + accept
