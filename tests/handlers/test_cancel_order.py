"""cancel_order (connector.work.cancel): RxScale cancelled it; cancel it at Empower too."""

from __future__ import annotations

from connector.domain.jobs import JobKind
from connector.domain.lifecycle import OrderState
from connector.domain.outcome import NOTHING
from connector.work.cancel import CancelOrder
from tests.handlers.conftest import Bench

CANCEL = JobKind.CANCEL_ORDER


async def test_an_order_not_yet_placed_is_cancelled_without_a_call(bench: Bench) -> None:
    record = await bench.order(OrderState.ACCEPTED, rxscale_status="cancelled")
    outcome = await CancelOrder(bench.deps).run(bench.job(CANCEL, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.CANCELLED]
    assert bench.empower_calls("DELETE", "/v1/orders") == 0


async def test_a_placed_order_is_cancelled_at_empower(bench: Bench) -> None:
    record = await bench.order(OrderState.IN_PROGRESS, rxscale_status="cancelled")
    outcome = await CancelOrder(bench.deps).run(bench.job(CANCEL, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.CANCELLED]
    assert record.empower_order_id is not None
    assert bench.empower.orders[record.empower_order_id].status == "CANCELLED"


async def test_a_cancellation_whose_answer_was_lost_is_confirmed_by_reading(
    bench: Bench,
) -> None:
    record = await bench.order(OrderState.PLACED, rxscale_status="cancelled")
    bench.fault("empower", method="DELETE", path="/v1/orders/*", status=400, after_commit=True)
    outcome = await CancelOrder(bench.deps).run(bench.job(CANCEL, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.CANCELLED]


async def test_a_shipped_order_is_refused_and_recorded(bench: Bench) -> None:
    record = await bench.order(OrderState.IN_PROGRESS, rxscale_status="cancelled")
    assert record.empower_order_id is not None
    bench.empower.orders[record.empower_order_id].status = "SHIPPED"
    outcome = await CancelOrder(bench.deps).run(bench.job(CANCEL, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.CANCEL_REFUSED]
    [entry] = outcome.history
    assert entry.kind == "cancellation_refused"
    assert "shipped" in str(entry.detail["reason"])
    assert entry.detail["empower_status"] == "SHIPPED"


async def test_an_order_we_know_shipped_is_refused_without_a_call(bench: Bench) -> None:
    record = await bench.order(OrderState.READY_FOR_PICKUP, rxscale_status="cancelled")
    outcome = await CancelOrder(bench.deps).run(bench.job(CANCEL, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.CANCEL_REFUSED]
    assert [entry.kind for entry in outcome.history] == ["cancellation_refused"]
    assert bench.empower_calls("DELETE", "/v1/orders") == 0


async def test_an_order_placed_by_a_lost_answer_is_found_and_cancelled(bench: Bench) -> None:
    """The connector has not recorded a placement, but an attempt whose answer was lost
    made one: it is found by its external id and cancelled, not left to ship."""
    record = await bench.order(OrderState.ACCEPTED, rxscale_status="cancelled")
    placed = bench.place_at_empower(record.rxscale_uid)
    outcome = await CancelOrder(bench.deps).run(bench.job(CANCEL, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.CANCELLED]
    assert outcome.update is not None
    assert outcome.update.empower_order_id == placed.order_id
    assert bench.empower.orders[placed.order_id].status == "CANCELLED"


async def test_an_order_already_cancelled_is_skipped(bench: Bench) -> None:
    record = await bench.order(OrderState.CANCELLED)
    assert await CancelOrder(bench.deps).run(bench.job(CANCEL, record.rxscale_uid)) == NOTHING
