"""reconcile and refresh_order (connector.work.reconcile): what webhooks never said."""

from __future__ import annotations

import dataclasses
from typing import Any

from connector.domain.jobs import JobKind
from connector.domain.lifecycle import OrderEvent, OrderState, RxScaleStatus, apply_all
from connector.domain.order import OrderPage
from connector.domain.outcome import NOTHING, Outcome
from connector.work.reconcile import Reconcile, RefreshOrder
from tests.handlers.conftest import Bench


async def test_unseen_waiting_orders_are_taken_in_and_quiet_ones_looked_up(
    bench: Bench,
) -> None:
    quiet = await bench.order(OrderState.IN_PROGRESS)
    missed = bench.rxscale.add_order()  # its webhook never came
    # Everything placed counts as quiet once the threshold is in the past.
    deps = dataclasses.replace(bench.deps, stale_after_seconds=-1.0)
    outcome = await Reconcile(deps).run(bench.job(JobKind.RECONCILE, None, {"bucket": 9}))
    assert outcome.intake == (missed,)
    assert [(s.kind, s.unique_key) for s in outcome.follow_ups] == [
        (JobKind.REFRESH_ORDER, f"refresh:{quiet.rxscale_uid}:9")
    ]
    new_jobs = await bench.commit(outcome)
    assert len(new_jobs) == 2  # the refresh, and the missed order's accept
    assert (await bench.record(missed)).state is OrderState.RECEIVED


async def test_a_refresh_applies_what_empower_shows(bench: Bench) -> None:
    record = await bench.order(OrderState.IN_PROGRESS)
    assert record.empower_order_id is not None
    placed = bench.empower.orders[record.empower_order_id]
    bench.empower.ship(placed)
    outcome = await RefreshOrder(bench.deps).run(
        bench.job(JobKind.REFRESH_ORDER, record.rxscale_uid)
    )
    assert [t.after for t in outcome.transitions] == [OrderState.COMPLETED]
    completion = bench.rxscale.orders[record.rxscale_uid].completion
    assert completion is not None
    assert completion["tracking_number"] == placed.shipments[-1]["tracking_number"]


async def test_a_refresh_of_an_order_no_longer_awaiting_empower_is_skipped(
    bench: Bench,
) -> None:
    record = await bench.order(OrderState.DELIVERED)
    job = bench.job(JobKind.REFRESH_ORDER, record.rxscale_uid)
    assert await RefreshOrder(bench.deps).run(job) == NOTHING
    assert bench.empower_calls("GET", "/v1/orders") == 0


async def test_an_order_cancelled_at_rxscale_whose_webhook_was_lost_is_cancelled(
    bench: Bench,
) -> None:
    open_order = await bench.order(OrderState.IN_PROGRESS)
    lost = await bench.order(OrderState.IN_PROGRESS, rxscale_status="cancelled")
    placed = await bench.order(OrderState.PLACED)  # `pending review` at RxScale
    outcome = await Reconcile(bench.deps).run(bench.job(JobKind.RECONCILE, None, {"bucket": 3}))
    assert [(s.kind, s.order_uid) for s in outcome.follow_ups] == [
        (JobKind.CANCEL_ORDER, lost.rxscale_uid)
    ]
    assert outcome.detail["cancelled_at_rxscale"] == 1
    # Only the order missing from RxScale's open lists was read on its own.
    assert bench.rxscale_calls("GET", f"/pharmacy_orders/{lost.rxscale_uid}") == 1
    for other in (open_order, placed):
        assert bench.rxscale_calls("GET", f"/pharmacy_orders/{other.rxscale_uid}") == 0


async def test_a_page_that_fails_once_is_read_again_not_the_whole_run(bench: Bench) -> None:
    await bench.order(OrderState.IN_PROGRESS)
    bench.fault("rxscale", method="GET", path="*/pharmacy_orders/", status=503)
    outcome = await Reconcile(bench.deps).run(bench.job(JobKind.RECONCILE, None, {"bucket": 4}))
    assert outcome.detail["cancelled_at_rxscale"] == 0
    # Five statuses of one page each, and the one page that failed read once more.
    assert (
        bench.rxscale_calls("GET", "/pharmacy_orders/")
        - bench.rxscale_calls("GET", "/pharmacy_orders/po-")
        == 6
    )


async def test_an_order_that_ships_while_the_lists_are_read_is_not_read_on_its_own(
    bench: Bench,
) -> None:
    """Orders keep moving during a run: one that completes at RxScale (so leaves the open
    lists) and in our records while the lists are paged is not missing, only moving."""
    moving = await bench.order(OrderState.IN_PROGRESS)
    rxscale = bench.deps.rxscale

    class ShipsDuringTheListing:
        """The real client; the order ships, on both sides, once the first open list is read."""

        def __init__(self) -> None:
            self.shipped = False

        def __getattr__(self, name: str) -> Any:
            return getattr(rxscale, name)

        async def list_orders(self, **query: Any) -> OrderPage:
            page = await rxscale.list_orders(**query)
            if query.get("status") == RxScaleStatus.PENDING_REVIEW.value and not self.shipped:
                self.shipped = True
                bench.rxscale.orders[moving.rxscale_uid].set_status("completed")
                await bench.commit(
                    Outcome(
                        order_uid=moving.rxscale_uid,
                        transitions=apply_all(OrderState.IN_PROGRESS, (OrderEvent.COMPLETE,)),
                    )
                )
            return page

    deps = dataclasses.replace(bench.deps, rxscale=ShipsDuringTheListing())
    outcome = await Reconcile(deps).run(bench.job(JobKind.RECONCILE, None, {"bucket": 5}))
    assert (await bench.record(moving.rxscale_uid)).state is OrderState.COMPLETED
    assert outcome.detail["cancelled_at_rxscale"] == 0
    assert bench.rxscale_calls("GET", f"/pharmacy_orders/{moving.rxscale_uid}") == 0
