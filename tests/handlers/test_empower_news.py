"""empower_news (connector.work.news): one piece of Empower news applied at RxScale."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from connector.domain.empower import Tracking
from connector.domain.errors import PermanentError, RetryLater
from connector.domain.jobs import JobKind
from connector.domain.lifecycle import OrderEvent, OrderState
from connector.domain.news import OrderNews, PrescriptionNews, ShipmentNews
from connector.domain.outcome import NOTHING
from connector.domain.records import OrderRecord
from connector.domain.workflow import advance
from connector.store.news_codec import news_to_payload
from connector.work.news import ApplyEmpowerNews
from tests.handlers.conftest import Bench

NEWS = JobKind.EMPOWER_NEWS
TRACKING = Tracking(
    "9400111", "usps", "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111"
)


def shipped(bench: Bench, record: OrderRecord, status: str = "SHIPPED") -> ShipmentNews:
    """The news, with Empower's API showing the same shipment (as it would)."""
    assert record.empower_request_id is not None
    assert record.empower_order_id is not None
    bench.empower.orders[record.empower_order_id].shipments.append(
        {"status": status, "carrier": "usps", "tracking_number": TRACKING.tracking_number}
    )
    return ShipmentNews(record.empower_request_id, status, TRACKING)


async def run(bench: Bench, uid: str | None, news: ShipmentNews | OrderNews) -> object:
    job = bench.job(NEWS, uid, news_to_payload(news))
    return await ApplyEmpowerNews(bench.deps).run(job)


async def test_a_shipment_completes_the_order_with_its_tracking(bench: Bench) -> None:
    record = await bench.order(OrderState.IN_PROGRESS)
    outcome = await ApplyEmpowerNews(bench.deps).run(
        bench.job(NEWS, record.rxscale_uid, news_to_payload(shipped(bench, record)))
    )
    assert [t.after for t in outcome.transitions] == [OrderState.COMPLETED]
    completion = bench.rxscale.orders[record.rxscale_uid].completion
    assert completion is not None
    assert completion["tracking_number"] == TRACKING.tracking_number
    assert outcome.update is not None
    assert outcome.update.heard_from_empower


async def test_a_completion_whose_answer_was_lost_is_confirmed_by_reading(bench: Bench) -> None:
    record = await bench.order(OrderState.IN_PROGRESS)
    bench.fault("rxscale", method="PATCH", path="*/complete_order", status=409, after_commit=True)
    outcome = await ApplyEmpowerNews(bench.deps).run(
        bench.job(NEWS, record.rxscale_uid, news_to_payload(shipped(bench, record)))
    )
    assert [t.after for t in outcome.transitions] == [OrderState.COMPLETED]
    assert bench.rxscale_calls("PATCH", "/complete_order") == 1


async def test_a_shipment_for_an_order_cancelled_at_rxscale_queues_the_cancellation(
    bench: Bench,
) -> None:
    record = await bench.order(OrderState.IN_PROGRESS, rxscale_status="cancelled")
    outcome = await ApplyEmpowerNews(bench.deps).run(
        bench.job(NEWS, record.rxscale_uid, news_to_payload(shipped(bench, record)))
    )
    assert outcome.transitions == ()
    assert [h.kind for h in outcome.history] == ["shipped_after_cancellation"]
    assert [s.kind for s in outcome.follow_ups] == [JobKind.CANCEL_ORDER]


async def test_a_refused_completion_that_left_the_order_elsewhere_is_raised(
    bench: Bench,
) -> None:
    record = await bench.order(OrderState.IN_PROGRESS)
    bench.fault("rxscale", method="PATCH", path="*/complete_order", status=422)
    with pytest.raises(PermanentError):
        await ApplyEmpowerNews(bench.deps).run(
            bench.job(NEWS, record.rxscale_uid, news_to_payload(shipped(bench, record)))
        )


async def test_repeated_shipment_news_calls_nothing(bench: Bench) -> None:
    record = await bench.order(OrderState.COMPLETED)
    outcome = await ApplyEmpowerNews(bench.deps).run(
        bench.job(NEWS, record.rxscale_uid, news_to_payload(shipped(bench, record)))
    )
    assert [h.kind for h in outcome.history] == ["shipment_repeated"]
    assert bench.rxscale_calls("PATCH", "/") == 0


async def test_a_shipment_that_overtook_in_progress_moves_the_order_on(bench: Bench) -> None:
    record = await bench.order(OrderState.PLACED)
    outcome = await ApplyEmpowerNews(bench.deps).run(
        bench.job(NEWS, record.rxscale_uid, news_to_payload(shipped(bench, record)))
    )
    assert [t.after for t in outcome.transitions] == [
        OrderState.IN_PROGRESS,
        OrderState.COMPLETED,
    ]
    statuses = [h["status"] for h in bench.rxscale.orders[record.rxscale_uid].history]
    assert statuses[-2:] == ["in-progress", "completed"]


async def test_a_shipment_of_a_placed_order_cancelled_at_rxscale_queues_the_cancellation(
    bench: Bench,
) -> None:
    record = await bench.order(OrderState.PLACED, rxscale_status="cancelled")
    outcome = await ApplyEmpowerNews(bench.deps).run(
        bench.job(NEWS, record.rxscale_uid, news_to_payload(shipped(bench, record)))
    )
    assert outcome.transitions == ()
    assert [s.kind for s in outcome.follow_ups] == [JobKind.CANCEL_ORDER]


async def test_a_shipment_after_a_refused_cancellation_is_kept(bench: Bench) -> None:
    record = await bench.order(OrderState.IN_PROGRESS)
    await bench.commit(advance(record, OrderEvent.REFUSE_CANCEL))
    outcome = await ApplyEmpowerNews(bench.deps).run(
        bench.job(NEWS, record.rxscale_uid, news_to_payload(shipped(bench, record)))
    )
    assert outcome.update is not None
    assert outcome.update.tracking == TRACKING
    assert [h.kind for h in outcome.history] == ["shipment_after_cancellation"]
    assert bench.rxscale_calls("PATCH", "/") == 0


async def test_a_rejection_puts_the_order_on_hold_with_the_reason(bench: Bench) -> None:
    record = await bench.order(OrderState.IN_PROGRESS)
    assert record.empower_request_id is not None
    news = OrderNews(record.empower_request_id, False, "REJECTED", "R3")
    outcome = await ApplyEmpowerNews(bench.deps).run(
        bench.job(NEWS, record.rxscale_uid, news_to_payload(news))
    )
    assert [t.after for t in outcome.transitions] == [OrderState.REJECTED]
    assert [s.kind for s in outcome.follow_ups] == [JobKind.HOLD_ORDER]


async def test_news_before_its_order_is_known_waits_then_is_bound(bench: Bench) -> None:
    record = await bench.order(OrderState.IN_PROGRESS)
    news = shipped(bench, record)
    handler = ApplyEmpowerNews(bench.deps)
    unknown = ShipmentNews("fill_request_unknown", "SHIPPED", TRACKING)
    with pytest.raises(RetryLater):
        await handler.run(bench.job(NEWS, None, news_to_payload(unknown)))
    outcome = await handler.run(bench.job(NEWS, None, news_to_payload(news)))
    [bound] = outcome.follow_ups
    assert (bound.kind, bound.order_uid) == (NEWS, record.rxscale_uid)


async def test_a_prescription_notice_needs_no_work(bench: Bench) -> None:
    job = bench.job(NEWS, None, news_to_payload(PrescriptionNews("rx_1", "pt_1")))
    assert await ApplyEmpowerNews(bench.deps).run(job) == NOTHING


async def test_news_still_unknown_after_the_wait_is_kept_unmatched(bench: Bench) -> None:
    deps = dataclasses.replace(bench.deps, unmatched_after_seconds=0.0)
    unknown = ShipmentNews("fill_request_elsewhere", "SHIPPED", TRACKING)
    outcome = await ApplyEmpowerNews(deps).run(bench.job(NEWS, None, news_to_payload(unknown)))
    assert outcome.unmatched == ("fill_request_elsewhere",)
    assert outcome.follow_ups == ()


async def test_a_completion_run_again_reads_before_sending_twice(bench: Bench) -> None:
    """An earlier attempt completed the order and lost the answer: the job, run again,
    sees that and sends no second complete_order (RxScale's docs do not promise a repeat
    is harmless)."""
    record = await bench.order(OrderState.IN_PROGRESS, rxscale_status="completed")
    job = bench.job(NEWS, record.rxscale_uid, news_to_payload(shipped(bench, record)), attempt=2)
    outcome = await ApplyEmpowerNews(bench.deps).run(job)
    assert [t.after for t in outcome.transitions] == [OrderState.COMPLETED]
    assert bench.rxscale_calls("PATCH", "/complete_order") == 0


def forged(record: OrderRecord, number: str = "1ZFORGED") -> ShipmentNews:
    """A SHIPMENT webhook Empower's own API knows nothing about."""
    assert record.empower_request_id is not None
    return ShipmentNews(record.empower_request_id, "SHIPPED", Tracking(number, "ups", None))


async def test_a_shipment_empower_cannot_show_is_looked_for_again_first(bench: Bench) -> None:
    record = await bench.order(OrderState.IN_PROGRESS)
    job = bench.job(NEWS, record.rxscale_uid, news_to_payload(forged(record)))
    with pytest.raises(RetryLater):
        await ApplyEmpowerNews(bench.deps).run(job)
    assert bench.rxscale_calls("PATCH", "/complete_order") == 0


@pytest.mark.parametrize("number", ["1ZFORGED", "9400111"])
async def test_a_shipment_empower_never_shows_is_recorded_not_relayed(
    bench: Bench, number: str
) -> None:
    record = await bench.order(OrderState.IN_PROGRESS)
    if number == "9400111":  # Empower shows a shipment, but with another tracking number
        assert record.empower_order_id is not None
        bench.empower.orders[record.empower_order_id].shipments.append(
            {"status": "SHIPPED", "carrier": "usps", "tracking_number": "9400999"}
        )
    job = bench.job(NEWS, record.rxscale_uid, news_to_payload(forged(record, number)))
    job = dataclasses.replace(job, created_at=job.created_at - timedelta(minutes=11))
    outcome = await ApplyEmpowerNews(bench.deps).run(job)
    assert outcome.transitions == ()
    assert [h.kind for h in outcome.history] == ["shipment_unconfirmed"]
    assert outcome.history[0].detail["tracking_number"] == number
    assert bench.rxscale_calls("PATCH", "/complete_order") == 0
    assert bench.rxscale.orders[record.rxscale_uid].status != "completed"


async def test_with_confirmation_off_a_webhook_shipment_is_relayed_at_once(bench: Bench) -> None:
    record = await bench.order(OrderState.IN_PROGRESS)
    deps = dataclasses.replace(bench.deps, confirm_shipments=False)
    job = bench.job(NEWS, record.rxscale_uid, news_to_payload(forged(record)))
    outcome = await ApplyEmpowerNews(deps).run(job)
    assert OrderState.COMPLETED in [t.after for t in outcome.transitions]
    assert bench.empower_calls("GET", "/v1/orders/") == 0
