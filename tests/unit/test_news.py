from __future__ import annotations

import pytest

from connector.domain.empower import EmpowerOrder, Shipment, Tracking
from connector.domain.lifecycle import OrderState
from connector.domain.news import (
    CompleteOrder,
    CompletionPoint,
    KeepShipment,
    MarkReadyForPickup,
    NoteOnly,
    OrderNews,
    RecordDelivery,
    RecordStatus,
    RejectOrder,
    ShipmentNews,
    WaitForPlacement,
    news_from_empower_order,
    plan_order_news,
    plan_shipment,
)

TRACKING = Tracking("9400111", "usps", "https://t/9400111")


def shipped(status: str = "SHIPPED", tracking: Tracking | None = TRACKING) -> ShipmentNews:
    return ShipmentNews(request_id="fill_request_1", status=status, tracking=tracking)


def test_first_shipment_completes_the_order_with_tracking() -> None:
    assert plan_shipment(OrderState.IN_PROGRESS, shipped()) == CompleteOrder(TRACKING, False)
    assert plan_shipment(OrderState.IN_PROGRESS, shipped("LABEL_CREATED")) == CompleteOrder(
        TRACKING, False
    )


def test_delivery_without_an_earlier_shipment_completes_then_delivers() -> None:
    assert plan_shipment(OrderState.IN_PROGRESS, shipped("DELIVERED")) == CompleteOrder(
        TRACKING, True
    )


def test_repeated_or_late_shipment_news_changes_nothing() -> None:
    assert plan_shipment(OrderState.COMPLETED, shipped()) == NoteOnly("shipment_repeated")
    assert plan_shipment(OrderState.DELIVERED, shipped()) == NoteOnly("shipment_repeated")
    assert plan_shipment(OrderState.DELIVERED, shipped("DELIVERED")) == NoteOnly(
        "shipment_repeated"
    )


def test_delivery_after_completion_is_recorded() -> None:
    assert plan_shipment(OrderState.COMPLETED, shipped("DELIVERED")) == RecordDelivery()


def test_shipment_before_placement_is_known_waits() -> None:
    for state in (OrderState.RECEIVED, OrderState.ACCEPTED):
        assert plan_shipment(state, shipped()) == WaitForPlacement()


def test_a_shipment_that_overtook_in_progress_moves_the_order_on() -> None:
    assert plan_shipment(OrderState.PLACED, shipped()) == CompleteOrder(
        TRACKING, then_deliver=False, start_first=True
    )
    assert plan_shipment(OrderState.PLACED, shipped(), DELIVERED) == MarkReadyForPickup(
        TRACKING, start_first=True
    )


def test_a_shipment_after_a_refused_cancellation_is_kept_not_relayed() -> None:
    assert plan_shipment(OrderState.CANCEL_REFUSED, shipped()) == KeepShipment(TRACKING)


def test_shipment_problems_and_missing_tracking_alert() -> None:
    assert plan_shipment(OrderState.IN_PROGRESS, shipped("EXCEPTION")).alert  # type: ignore[union-attr]
    assert plan_shipment(OrderState.IN_PROGRESS, shipped(tracking=None)) == NoteOnly(
        "shipment_without_tracking", alert=True
    )
    assert plan_shipment(OrderState.CANCELLED, shipped()) == NoteOnly(
        "shipment_for_inactive_order", alert=True
    )


def test_order_error_rejects_a_placed_order_with_its_code_only() -> None:
    news = OrderNews("fill_request_1", succeeded=False, status="REJECTED", code="R3")
    assert plan_order_news(OrderState.PLACED, news) == RejectOrder(
        "rejected by Empower (code R3); Empower's portal has the details"
    )
    assert plan_order_news(OrderState.DELIVERED, news) == NoteOnly(
        "rejection_for_inactive_order", alert=True
    )


def test_order_progress_is_recorded() -> None:
    news = OrderNews("fill_request_1", succeeded=True, status="PROCESSING")
    assert plan_order_news(OrderState.IN_PROGRESS, news) == RecordStatus("PROCESSING")


DELIVERED = CompletionPoint.DELIVERED


def shipment(status: str, tracking: Tracking | None = TRACKING) -> ShipmentNews:
    return ShipmentNews("fill_request_1", status, tracking)


def test_completing_on_delivery_marks_ready_for_pickup_first() -> None:
    assert plan_shipment(OrderState.IN_PROGRESS, shipment("SHIPPED"), DELIVERED) == (
        MarkReadyForPickup(TRACKING)
    )
    assert plan_shipment(OrderState.READY_FOR_PICKUP, shipment("IN_TRANSIT"), DELIVERED) == (
        NoteOnly("shipment_repeated")
    )


def test_delivery_completes_with_the_tracking_already_known() -> None:
    plan = plan_shipment(
        OrderState.READY_FOR_PICKUP, shipment("DELIVERED", None), DELIVERED, TRACKING
    )
    assert plan == CompleteOrder(TRACKING, then_deliver=True)


def test_a_delivery_without_any_tracking_is_for_a_person() -> None:
    assert plan_shipment(OrderState.IN_PROGRESS, shipment("DELIVERED", None), DELIVERED) == (
        NoteOnly("shipment_without_tracking", alert=True)
    )


@pytest.mark.parametrize(
    ("state", "plan"),
    [
        (OrderState.PLACED, RejectOrder("cancelled by Empower; Empower's portal has the reason")),
        (
            OrderState.IN_PROGRESS,
            RejectOrder("cancelled by Empower; Empower's portal has the reason"),
        ),
        (OrderState.CANCELLED, NoteOnly("cancellation_confirmed")),
        (OrderState.DELIVERED, NoteOnly("cancellation_for_inactive_order", alert=True)),
    ],
)
def test_an_order_cancelled_by_empower(state: OrderState, plan: object) -> None:
    news = OrderNews("r", succeeded=True, status="CANCELLED")
    assert plan_order_news(state, news) == plan


def test_empower_on_hold_is_recorded_with_an_alert() -> None:
    news = OrderNews("r", succeeded=True, status="ON_HOLD")
    assert plan_order_news(OrderState.IN_PROGRESS, news) == RecordStatus("ON_HOLD", alert=True)


def test_a_rejection_after_our_cancellation_is_quiet() -> None:
    news = OrderNews("r", succeeded=False, status="REJECTED")
    assert plan_order_news(OrderState.CANCELLED, news) == NoteOnly("rejection_after_cancellation")


def test_empower_order_view_becomes_news() -> None:
    shipped = EmpowerOrder(
        "ord_1", "fill_1", "po-1", "DELIVERED", (Shipment("delivered", TRACKING),)
    )
    assert news_from_empower_order(shipped) == ShipmentNews("fill_1", "DELIVERED", TRACKING)
    rejected = EmpowerOrder("ord_1", "fill_1", "po-1", "REJECTED")
    news = news_from_empower_order(rejected)
    assert isinstance(news, OrderNews)
    assert not news.succeeded
    working = news_from_empower_order(EmpowerOrder("ord_1", "fill_1", "po-1", "PROCESSING"))
    assert working == OrderNews("fill_1", succeeded=True, status="PROCESSING")
