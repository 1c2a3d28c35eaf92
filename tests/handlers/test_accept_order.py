"""accept_order (connector.work.accept): fetch the order, mark it `pending review`."""

from __future__ import annotations

import asyncio

import pytest

from connector.domain.errors import PermanentError, RetryLater
from connector.domain.jobs import JobKind
from connector.domain.lifecycle import OrderState
from connector.domain.outcome import NOTHING
from connector.work.accept import AcceptOrder
from tests.handlers.conftest import Bench

ACCEPT = JobKind.ACCEPT_ORDER


async def test_a_new_order_is_marked_pending_review_and_placement_follows(bench: Bench) -> None:
    record = await bench.order(OrderState.RECEIVED)
    outcome = await AcceptOrder(bench.deps).run(bench.job(ACCEPT, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.ACCEPTED]
    assert [(s.kind, s.unique_key) for s in outcome.follow_ups] == [
        (JobKind.PLACE_ORDER, f"place:{record.rxscale_uid}:g0")
    ]
    assert bench.rxscale.orders[record.rxscale_uid].status == "pending review"
    await bench.commit(outcome)
    assert (await bench.record(record.rxscale_uid)).state is OrderState.ACCEPTED


async def test_an_order_that_moved_on_is_skipped_without_a_call(bench: Bench) -> None:
    record = await bench.order(OrderState.ACCEPTED)
    assert await AcceptOrder(bench.deps).run(bench.job(ACCEPT, record.rxscale_uid)) == NOTHING
    assert bench.rxscale_calls("GET", "/pharmacy_orders/") == 0


async def test_an_order_cancelled_at_rxscale_is_never_placed(bench: Bench) -> None:
    record = await bench.order(OrderState.RECEIVED, rxscale_status="cancelled")
    outcome = await AcceptOrder(bench.deps).run(bench.job(ACCEPT, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.CANCELLED]
    assert outcome.follow_ups == ()
    assert bench.rxscale_calls("PATCH", "/status") == 0


async def test_a_refusal_after_the_write_took_effect_is_success(bench: Bench) -> None:
    record = await bench.order(OrderState.RECEIVED)
    bench.fault("rxscale", method="PATCH", path="*/status", status=409, after_commit=True)
    outcome = await AcceptOrder(bench.deps).run(bench.job(ACCEPT, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.ACCEPTED]
    assert bench.rxscale_calls("GET", record.rxscale_uid) == 2  # before, and to confirm


async def test_a_4xx_that_changed_nothing_is_permanent(bench: Bench) -> None:
    record = await bench.order(OrderState.RECEIVED)
    bench.fault("rxscale", method="PATCH", path="*/status", status=422)
    with pytest.raises(PermanentError):
        await AcceptOrder(bench.deps).run(bench.job(ACCEPT, record.rxscale_uid))
    assert bench.rxscale.orders[record.rxscale_uid].status == "waiting for pharmacy"


async def test_a_status_that_moved_between_read_and_write_is_planned_again(
    bench: Bench,
) -> None:
    record = await bench.order(OrderState.RECEIVED)
    uid = record.rxscale_uid
    # Hold the PATCH while RxScale cancels the order; the PATCH then meets a 409.
    bench.fault("rxscale", method="PATCH", path="*/status", delay_seconds=0.3)
    running = asyncio.create_task(AcceptOrder(bench.deps).run(bench.job(ACCEPT, uid)))
    await asyncio.sleep(0.1)
    bench.rxscale.orders[uid].set_status("cancelled")
    with pytest.raises(RetryLater, match="cancelled"):
        await running


@pytest.mark.parametrize(
    ("status", "error"), [("init", RetryLater), ("in-progress", PermanentError)]
)
async def test_orders_not_ours_to_take_yet_or_at_all(
    bench: Bench, status: str, error: type[Exception]
) -> None:
    record = await bench.order(OrderState.RECEIVED, rxscale_status=status)
    with pytest.raises(error):
        await AcceptOrder(bench.deps).run(bench.job(ACCEPT, record.rxscale_uid))
    assert bench.rxscale_calls("PATCH", "/status") == 0
