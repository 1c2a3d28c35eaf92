"""The order mapping: compare-and-set state changes with their history, on a real database."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DBAPIError

from connector.domain.empower import Tracking
from connector.domain.jobs import JobKind, JobSpec
from connector.domain.lifecycle import OrderEvent, OrderState, apply, apply_all
from connector.domain.outcome import HistoryEntry, OrderUpdate, Outcome
from connector.store import job_queries, jobs, order_counts, order_queries, orders
from connector.store.database import Database
from connector.store.migrate import upgrade_to_head

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


async def test_an_order_is_created_once_with_its_first_history_row(database: Database) -> None:
    async with database.transaction() as c:
        assert await orders.create_order_if_absent(c, "po-1", NOW)
        assert not await orders.create_order_if_absent(c, "po-1", NOW)
        record = await orders.require_order(c, "po-1")
        history = await order_queries.order_history(c, "po-1")
    assert record.state is OrderState.RECEIVED
    assert record.empower_prescription_tokens == ()
    assert [(h.kind, h.to_state) for h in history] == [("received", OrderState.RECEIVED)]


async def test_outcome_moves_state_sets_fields_and_writes_history(database: Database) -> None:
    async with database.transaction() as c:
        await orders.create_order_if_absent(c, "po-1", NOW)
    accepted = apply(OrderState.RECEIVED, OrderEvent.ACCEPT)
    placed = apply(OrderState.ACCEPTED, OrderEvent.PLACE)
    outcome = Outcome(
        order_uid="po-1",
        transitions=(accepted, placed),
        update=OrderUpdate(
            empower_patient_token="pt_1",
            empower_prescription_tokens=("rx_1", "rx_2"),
            empower_order_id="ord_1",
            empower_request_id="fill_request_1",
            tracking=Tracking("9400", "usps", None),
        ),
        history=(HistoryEntry("note", {"k": "v"}),),
        detail={"empower_order_id": "ord_1"},
    )
    async with database.transaction() as c:
        await orders.apply_outcome(c, outcome, NOW, job_id=7)
        record = await orders.require_order(c, "po-1")
        history = await order_queries.order_history(c, "po-1")
        assert await orders.find_uid_by_request_id(c, "fill_request_1") == "po-1"
    assert record.state is OrderState.PLACED
    assert record.empower_prescription_tokens == ("rx_1", "rx_2")
    assert record.tracking == Tracking("9400", "usps", None)
    assert [(h.kind, h.from_state, h.to_state) for h in history[1:]] == [
        ("accept", OrderState.RECEIVED, OrderState.ACCEPTED),
        ("place", OrderState.ACCEPTED, OrderState.PLACED),
        ("note", None, None),
    ]
    assert history[1].detail == {"empower_order_id": "ord_1"}


async def test_a_stale_outcome_changes_nothing_at_all(database: Database) -> None:
    async with database.transaction() as c:
        await orders.create_order_if_absent(c, "po-1", NOW)
    stale = Outcome(
        order_uid="po-1",
        transitions=(apply(OrderState.ACCEPTED, OrderEvent.PLACE),),
        update=OrderUpdate(empower_order_id="ord_1"),
        follow_ups=(JobSpec(JobKind.MARK_IN_PROGRESS, "po-1"),),
    )

    async def commit_stale() -> None:
        async with database.transaction() as c:
            await jobs.enqueue(c, stale.follow_ups, NOW)
            await orders.apply_outcome(c, stale, NOW)

    with pytest.raises(orders.StateConflict):
        await commit_stale()
    async with database.engine.connect() as c:
        record = await orders.require_order(c, "po-1")
        assert await job_queries.list_jobs(c) == []
        assert len(await order_queries.order_history(c, "po-1")) == 1
    assert record.state is OrderState.RECEIVED
    assert record.empower_order_id is None


async def test_counts_by_state(database: Database) -> None:
    async with database.transaction() as c:
        for uid in ("a", "b", "c"):
            await orders.create_order_if_absent(c, uid, NOW)
        await orders.apply_outcome(
            c,
            Outcome(order_uid="a", transitions=(apply(OrderState.RECEIVED, OrderEvent.CANCEL),)),
            NOW,
        )
        counts = await order_counts.count_by_state(c)
    assert {state: n for state, n in counts.items() if n} == {
        OrderState.RECEIVED: 2,
        OrderState.CANCELLED: 1,
    }


async def test_a_rerun_moves_the_old_empower_ids_into_the_history(database: Database) -> None:
    held = (OrderEvent.ACCEPT, OrderEvent.PLACE, OrderEvent.REJECT, OrderEvent.HOLD)
    async with database.transaction() as c:
        await orders.create_order_if_absent(c, "po-1", NOW)
        transitions = apply_all(OrderState.RECEIVED, held)
        update = OrderUpdate(empower_order_id="ord_1", empower_request_id="fill_1")
        await orders.apply_outcome(c, Outcome("po-1", transitions, update), NOW)
        generation = await orders.rerun(c, "po-1", NOW)
        record = await orders.require_order(c, "po-1")
        [retry] = [h for h in await order_queries.order_history(c, "po-1") if h.kind == "retry"]
    assert (generation, record.placement_generation, record.state) == (1, 1, OrderState.RECEIVED)
    assert (record.empower_order_id, record.empower_request_id) == (None, None)
    assert retry.detail["previous"]["empower_order_id"] == "ord_1"
    assert retry.detail["previous"]["empower_request_id"] == "fill_1"
    async with database.transaction() as c:
        with pytest.raises(orders.StateConflict):
            await orders.rerun(c, "po-1", NOW)  # only an order on hold


@pytest.mark.postgres
async def test_concurrent_moves_never_deadlock_on_the_counters(postgres_url: str) -> None:
    """Every move updates two counter rows. PostgreSQL locks the rows of an UPDATE in the
    order it finds them, which changes as rows get new versions: moves between the same
    states from three replicas at once must still take their locks in one order. (Before
    the rows were locked by state, about one move in six here ended in a deadlock.)"""
    replicas = [Database(postgres_url, pool_size=15) for _ in range(3)]
    await upgrade_to_head(replicas[0])
    states = [
        OrderState.RECEIVED,
        OrderState.ACCEPTED,
        OrderState.PLACED,
        OrderState.IN_PROGRESS,
        OrderState.COMPLETED,
    ]
    deadlocks = 0

    async def moves(n: int) -> None:
        nonlocal deadlocks
        rng = random.Random(n)
        for _ in range(10):
            before, after = rng.sample(states, 2)
            try:
                async with replicas[n % 3].transaction() as c:
                    await c.run_sync(order_counts.count_move, before, after)
                    await c.run_sync(order_counts.count_move, after, before)
            except DBAPIError as exc:
                if "deadlock" not in str(exc.orig).lower():
                    raise
                deadlocks += 1

    try:
        await asyncio.wait_for(asyncio.gather(*(moves(n) for n in range(12))), timeout=120)
        async with replicas[0].connect() as c:
            counts = await order_counts.count_by_state(c)
    finally:
        for database in replicas:
            await database.close()
    assert deadlocks == 0
    assert all(count == 0 for count in counts.values())  # every move was undone in its turn
