from __future__ import annotations

import pytest

from connector.domain.empower import Tracking
from connector.domain.intake import (
    AlreadyCancelled,
    AlreadyPendingReview,
    MarkPendingReview,
    NotAssignedYet,
    NotOurs,
    plan_intake,
)
from connector.domain.lifecycle import OrderState
from connector.domain.news import (
    CompleteOrder,
    NoteOnly,
    OrderNews,
    PrescriptionNews,
    RecordDelivery,
    RecordStatus,
    RejectOrder,
    ShipmentNews,
    WaitForPlacement,
    news_from_payload,
    news_to_payload,
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


def test_shipment_before_in_progress_waits() -> None:
    for state in (OrderState.RECEIVED, OrderState.ACCEPTED, OrderState.PLACED):
        assert plan_shipment(state, shipped()) == WaitForPlacement()


def test_shipment_problems_and_missing_tracking_alert() -> None:
    assert plan_shipment(OrderState.IN_PROGRESS, shipped("EXCEPTION")).alert  # type: ignore[union-attr]
    assert plan_shipment(OrderState.IN_PROGRESS, shipped(tracking=None)) == NoteOnly(
        "shipment_without_tracking", alert=True
    )
    assert plan_shipment(OrderState.CANCELLED, shipped()) == NoteOnly(
        "shipment_for_inactive_order", alert=True
    )


def test_order_error_rejects_a_placed_order_with_code_and_message() -> None:
    news = OrderNews(
        "fill_request_1", succeeded=False, status="REJECTED", code="R3", message="out of stock"
    )
    assert plan_order_news(OrderState.PLACED, news) == RejectOrder("out of stock (code R3)")
    assert plan_order_news(OrderState.DELIVERED, news) == NoteOnly(
        "rejection_for_inactive_order", alert=True
    )


def test_order_progress_is_recorded() -> None:
    news = OrderNews("fill_request_1", succeeded=True, status="PROCESSING")
    assert plan_order_news(OrderState.IN_PROGRESS, news) == RecordStatus("PROCESSING")


@pytest.mark.parametrize(
    "news",
    [
        shipped(),
        shipped(tracking=None),
        OrderNews("fill_request_2", succeeded=False, status=None, code="R1", message="dup"),
        PrescriptionNews("rx_1", "pt_1"),
        PrescriptionNews("rx_1", None),
    ],
)
def test_news_survives_the_job_payload(news: object) -> None:
    assert news_from_payload(news_to_payload(news)) == news  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "plan"),
    [
        ("waiting for pharmacy", MarkPendingReview()),
        ("pending review", AlreadyPendingReview()),
        ("cancelled", AlreadyCancelled()),
        ("init", NotAssignedYet()),
        ("in-progress", NotOurs("in-progress")),
        ("completed", NotOurs("completed")),
    ],
)
def test_intake_by_rxscale_status(status: str, plan: object) -> None:
    assert plan_intake(status) == plan
