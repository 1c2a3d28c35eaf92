"""Empower's news (from its webhooks, or from asking it) as plain values, and what each piece
means for an order.

News carries the latest state when sent and may arrive late or twice, so every decision
here looks at where the order already is and never moves it backwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from connector.domain.empower import EmpowerOrder, EmpowerOrderStatus, ShipmentStatus, Tracking
from connector.domain.lifecycle import OrderState


@dataclass(frozen=True, slots=True)
class ShipmentNews:
    request_id: str
    status: str
    tracking: Tracking | None


@dataclass(frozen=True, slots=True)
class OrderNews:
    request_id: str
    succeeded: bool
    status: str | None
    # Empower's error code, when it sent one shaped like a code. Its free text is never
    # kept: it may quote the patient, and there is nothing at hand to scrub it with.
    code: str | None = None


@dataclass(frozen=True, slots=True)
class PrescriptionNews:
    prescription_token: str
    patient_token: str | None


EmpowerNews = ShipmentNews | OrderNews | PrescriptionNews


@dataclass(frozen=True, slots=True)
class UnknownNews:
    """A callback type the connector does not know: acknowledged, recorded, logged."""

    callback_type: str


def news_request_id(news: EmpowerNews) -> str | None:
    match news:
        case ShipmentNews() | OrderNews():
            return news.request_id
        case PrescriptionNews():
            return None
        case _:
            assert_never(news)


# --- what shipment news means ----------------------------------------------------------

IN_FLIGHT_SHIPMENT_STATUSES = frozenset(
    {
        ShipmentStatus.LABEL_CREATED,
        ShipmentStatus.SHIPPED,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.OUT_FOR_DELIVERY,
    }
)


class CompletionPoint(StrEnum):
    """When RxScale's `complete_order` is called (CONNECTOR_COMPLETE_ON)."""

    SHIPPED = "shipped"  # on the first shipment with tracking
    DELIVERED = "delivered"  # `ready_for_pickup` on shipment, `complete_order` on delivery


@dataclass(frozen=True, slots=True)
class CompleteOrder:
    """Call `complete_order` with this tracking; `then_deliver` when it already arrived.
    `start_first`: RxScale was not yet told `in-progress` (the shipment overtook that
    step), so tell it first."""

    tracking: Tracking
    then_deliver: bool
    start_first: bool = False


@dataclass(frozen=True, slots=True)
class MarkReadyForPickup:
    """Shipped, completing on delivery: RxScale `ready_for_pickup`, tracking kept."""

    tracking: Tracking
    start_first: bool = False


@dataclass(frozen=True, slots=True)
class KeepShipment:
    """Shipped although RxScale cancelled it (the cancellation was refused): keep the
    tracking and status on record, and tell RxScale nothing."""

    tracking: Tracking | None


@dataclass(frozen=True, slots=True)
class RecordDelivery:
    pass


@dataclass(frozen=True, slots=True)
class WaitForPlacement:
    """The order is not yet `in-progress` at RxScale; try again once it is."""


@dataclass(frozen=True, slots=True)
class NoteOnly:
    """Nothing to do but record it; `alert` when a person should look."""

    kind: str
    alert: bool = False


ShipmentPlan = (
    CompleteOrder | MarkReadyForPickup | KeepShipment | RecordDelivery | WaitForPlacement | NoteOnly
)


def plan_shipment(
    state: OrderState,
    news: ShipmentNews,
    complete_on: CompletionPoint = CompletionPoint.SHIPPED,
    known_tracking: Tracking | None = None,
) -> ShipmentPlan:
    delivered = news.status == ShipmentStatus.DELIVERED
    in_flight = news.status in IN_FLIGHT_SHIPMENT_STATUSES
    if not (delivered or in_flight):
        # EXCEPTION, RETURNED or a status we do not know: a person should look.
        return NoteOnly("shipment_problem", alert=True)
    tracking = news.tracking or known_tracking
    match state:
        case OrderState.RECEIVED | OrderState.ACCEPTED:
            return WaitForPlacement()
        case OrderState.PLACED | OrderState.IN_PROGRESS | OrderState.READY_FOR_PICKUP:
            # A shipment may overtake the `in-progress` step: it moves the order on anyway.
            start_first = state is OrderState.PLACED
            if tracking is None:
                return NoteOnly("shipment_without_tracking", alert=True)
            if delivered:
                return CompleteOrder(tracking, then_deliver=True, start_first=start_first)
            if state is OrderState.READY_FOR_PICKUP:
                return NoteOnly("shipment_repeated")
            if complete_on is CompletionPoint.DELIVERED:
                return MarkReadyForPickup(tracking, start_first=start_first)
            return CompleteOrder(tracking, then_deliver=False, start_first=start_first)
        case OrderState.CANCEL_REFUSED:
            return KeepShipment(tracking)
        case OrderState.COMPLETED:
            return RecordDelivery() if delivered else NoteOnly("shipment_repeated")
        case OrderState.DELIVERED:
            return NoteOnly("shipment_repeated")
        case OrderState.REJECTED | OrderState.ON_HOLD | OrderState.CANCELLED:
            return NoteOnly("shipment_for_inactive_order", alert=True)
        case _:
            assert_never(state)


# --- what order news means --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RejectOrder:
    reason: str


@dataclass(frozen=True, slots=True)
class RecordStatus:
    status: str
    alert: bool = False


OrderPlan = RejectOrder | RecordStatus | NoteOnly

PLACED_AND_OPEN = frozenset({OrderState.PLACED, OrderState.IN_PROGRESS})


def plan_order_news(state: OrderState, news: OrderNews) -> OrderPlan:
    if not news.succeeded or news.status == EmpowerOrderStatus.REJECTED:
        if state in PLACED_AND_OPEN:
            reason = "rejected by Empower"
            if news.code:
                reason = f"{reason} (code {news.code})"
            return RejectOrder(f"{reason}; Empower's portal has the details")
        if state is OrderState.CANCELLED:
            return NoteOnly("rejection_after_cancellation")
        return NoteOnly("rejection_for_inactive_order", alert=True)
    if news.status == EmpowerOrderStatus.CANCELLED:
        if state is OrderState.CANCELLED:
            return NoteOnly("cancellation_confirmed")
        if state in PLACED_AND_OPEN:
            return RejectOrder("cancelled by Empower; Empower's portal has the reason")
        return NoteOnly("cancellation_for_inactive_order", alert=True)
    if news.status == EmpowerOrderStatus.ON_HOLD:
        # Empower needs clarification; the order stays placed, a person should look.
        return RecordStatus(news.status, alert=True)
    if news.status:
        return RecordStatus(news.status)
    return NoteOnly("order_news_without_status")


def news_from_empower_order(order: EmpowerOrder) -> ShipmentNews | OrderNews:
    """What Empower's view of an order says, as if it had come by webhook (reconciliation)."""
    if order.shipments:
        latest = order.shipments[-1]
        return ShipmentNews(
            request_id=order.request_id,
            status=latest.status.upper(),
            tracking=latest.tracking,
        )
    rejected = order.status == EmpowerOrderStatus.REJECTED
    return OrderNews(
        request_id=order.request_id,
        succeeded=not rejected,
        status=order.status,
    )
