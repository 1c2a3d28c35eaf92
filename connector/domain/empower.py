"""What the connector asks of Empower and what Empower answers, as plain values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class EmpowerOrderStatus(StrEnum):
    RECEIVED = "RECEIVED"
    PROCESSING = "PROCESSING"
    ON_HOLD = "ON_HOLD"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


class ShipmentStatus(StrEnum):
    LABEL_CREATED = "LABEL_CREATED"
    SHIPPED = "SHIPPED"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"
    RETURNED = "RETURNED"


@dataclass(frozen=True, slots=True)
class PostalAddress:
    line1: str = field(repr=False)
    line2: str = field(default="", repr=False)
    city: str = field(default="", repr=False)
    state: str = field(default="", repr=False)
    zip: str = field(default="", repr=False)
    country: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class PatientRequest:
    external_id: str
    first_name: str = field(repr=False)
    last_name: str = field(repr=False)
    date_of_birth: str = field(repr=False)
    email: str = field(repr=False)
    address: PostalAddress | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Prescriber:
    name: str
    npi: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    filename: str = field(repr=False)
    content_base64: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PrescriptionRequest:
    external_id: str
    item_uid: str
    prescriber: Prescriber
    product_id: str
    quantity: int
    document: Document | None = None


@dataclass(frozen=True, slots=True)
class OrderRequest:
    external_order_id: str
    patient_token: str
    prescription_tokens: tuple[str, ...]
    shipping_method: str
    shipping_address: PostalAddress | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order_id: str
    request_id: str
    status: str


@dataclass(frozen=True, slots=True)
class Tracking:
    tracking_number: str
    carrier: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True, slots=True)
class Shipment:
    status: str
    tracking: Tracking | None


@dataclass(frozen=True, slots=True)
class EmpowerOrder:
    order_id: str
    request_id: str
    external_order_id: str
    status: str
    shipments: tuple[Shipment, ...] = ()

    @property
    def is_live(self) -> bool:
        """Not rejected or cancelled: an order that may still be fulfilled."""
        return self.status not in ENDED_WITHOUT_SHIPPING


# An Empower order in one of these will never ship: it is never adopted as the placement.
ENDED_WITHOUT_SHIPPING = frozenset({EmpowerOrderStatus.REJECTED, EmpowerOrderStatus.CANCELLED})


def live_order(orders: Iterable[EmpowerOrder]) -> EmpowerOrder | None:
    """The order a placement may adopt, among those Empower has under one external id."""
    return next((order for order in orders if order.is_live), None)
