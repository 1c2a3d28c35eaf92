"""Empower's JSON (mostly assumed: docs/partners.md) as pydantic models, each with its way
to or from domain values.

Unknown fields in answers are ignored, never rejected. Validation errors never echo their
input, and patient fields stay out of `repr`: both can end up in logs.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from connector.domain.empower import (
    Document,
    EmpowerOrder,
    OrderRequest,
    PatientRequest,
    PlacedOrder,
    PostalAddress,
    PrescriptionRequest,
    Shipment,
    Tracking,
)
from connector.domain.stock import ProductAvailability
from connector.partner.wire import WireModel

TOKEN = Field(min_length=1, max_length=255)


# --- requests -----------------------------------------------------------------------------


class AddressModel(WireModel):
    line1: str = Field(min_length=1, repr=False)
    line2: str | None = Field(default=None, repr=False)
    city: str = Field(min_length=1, repr=False)
    state: str | None = Field(default=None, repr=False)
    zip: str = Field(min_length=1, repr=False)
    country: str = Field(min_length=1, repr=False)

    @classmethod
    def from_domain(cls, address: PostalAddress | None) -> AddressModel | None:
        if address is None:
            return None
        return cls(
            line1=address.line1,
            line2=address.line2 or None,
            city=address.city,
            state=address.state or None,
            zip=address.zip,
            country=address.country,
        )


class PatientModel(WireModel):
    external_id: str = TOKEN
    first_name: str = Field(min_length=1, repr=False)
    last_name: str = Field(min_length=1, repr=False)
    date_of_birth: str = Field(min_length=1, repr=False)
    email: str | None = Field(default=None, repr=False)
    phone: str | None = Field(default=None, repr=False)
    address: AddressModel | None = Field(default=None, repr=False)

    @classmethod
    def from_domain(cls, request: PatientRequest) -> PatientModel:
        return cls(
            external_id=request.external_id,
            first_name=request.first_name,
            last_name=request.last_name,
            date_of_birth=request.date_of_birth,
            email=request.email or None,
            address=AddressModel.from_domain(request.address),
        )


class PrescriberModel(WireModel):
    name: str = Field(min_length=1)
    npi: str | None = None


class MedicationModel(WireModel):
    product_id: str = Field(min_length=1)
    quantity: int = Field(ge=1)


class DocumentModel(WireModel):
    filename: str = Field(repr=False)
    content_base64: str = Field(repr=False)

    @classmethod
    def from_domain(cls, document: Document | None) -> DocumentModel | None:
        if document is None:
            return None
        return cls(filename=document.filename, content_base64=document.content_base64)


class PrescriptionModel(WireModel):
    external_id: str = TOKEN
    patient_token: str = TOKEN
    prescriber: PrescriberModel
    medication: MedicationModel
    document: DocumentModel | None = Field(default=None, repr=False)

    @classmethod
    def from_domain(cls, request: PrescriptionRequest, patient_token: str) -> PrescriptionModel:
        return cls(
            external_id=request.external_id,
            patient_token=patient_token,
            prescriber=PrescriberModel(name=request.prescriber.name, npi=request.prescriber.npi),
            medication=MedicationModel(product_id=request.product_id, quantity=request.quantity),
            document=DocumentModel.from_domain(request.document),
        )


class NewOrderModel(WireModel):
    external_order_id: str = TOKEN
    patient_token: str = TOKEN
    prescription_tokens: list[str] = Field(min_length=1)
    shipping_method: str = Field(min_length=1)
    shipping_address: AddressModel | None = Field(default=None, repr=False)

    @classmethod
    def from_domain(cls, request: OrderRequest) -> NewOrderModel:
        return cls(
            external_order_id=request.external_order_id,
            patient_token=request.patient_token,
            prescription_tokens=list(request.prescription_tokens),
            shipping_method=request.shipping_method,
            shipping_address=AddressModel.from_domain(request.shipping_address),
        )


# --- responses ----------------------------------------------------------------------------


CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def is_code(text: str) -> bool:
    """A short token: an error type or code, not a sentence that could quote patient data."""
    return CODE.fullmatch(text) is not None


class MetaModel(WireModel):
    request_id: str | None = None
    timestamp: int | str | None = None


class EnvelopeModel(WireModel):
    status: str
    code: int | None = None
    data: Any = None
    error: str | dict[str, Any] | None = None
    meta: MetaModel = Field(default_factory=MetaModel)

    def error_message(self) -> str:
        if isinstance(self.error, dict):
            return str(self.error.get("message") or self.error.get("type") or self.error)
        return self.error or "no error message"

    def error_code(self) -> str | None:
        """Empower's machine-readable error type, when it looks like one (never free text)."""
        kind = self.error.get("type") if isinstance(self.error, dict) else None
        return kind if isinstance(kind, str) and is_code(kind) else None


class CreatedPatientModel(WireModel):
    patient_token: str = TOKEN


class CreatedPrescriptionModel(WireModel):
    prescription_token: str = TOKEN


class PlacedOrderModel(WireModel):
    order_id: str = TOKEN
    request_id: str = TOKEN
    status: str

    def to_domain(self) -> PlacedOrder:
        return PlacedOrder(order_id=self.order_id, request_id=self.request_id, status=self.status)


class ShipmentModel(WireModel):
    status: str
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None

    def to_domain(self) -> Shipment:
        tracking = tracking_of(self.tracking_number, self.carrier, self.tracking_url)
        return Shipment(status=self.status, tracking=tracking)


class OrderModel(WireModel):
    order_id: str = TOKEN
    request_id: str = TOKEN
    external_order_id: str
    status: str
    shipments: list[ShipmentModel] = Field(default_factory=list)

    def to_domain(self) -> EmpowerOrder:
        return EmpowerOrder(
            order_id=self.order_id,
            request_id=self.request_id,
            external_order_id=self.external_order_id,
            status=self.status,
            shipments=tuple(shipment.to_domain() for shipment in self.shipments),
        )


class CancelledModel(WireModel):
    status: str


class ProductModel(WireModel):
    product_id: str
    name: str = ""
    in_stock: bool = False
    quantity_available: int = 0

    def to_domain(self) -> ProductAvailability:
        return ProductAvailability(self.product_id, self.in_stock, self.quantity_available)


# --- webhooks ----------------------------------------------------------------------------


class RequestEventModel(WireModel):
    """A request event: the outcome of something we asked for, by its request_id."""

    request_id: str = TOKEN
    timestamp: int | str | None = None
    callback_type: str
    status: str = "success"
    details: dict[str, Any]


class ShipmentDetailsModel(WireModel):
    status: str = Field(min_length=1)
    # Free text (read, never kept: it may quote the patient).
    message: str = Field(default="", repr=False)
    tracking_number: str | None = None
    carrier: str | None = None
    tracking_url: str | None = None

    def tracking(self) -> Tracking | None:
        return tracking_of(self.tracking_number, self.carrier, self.tracking_url)


def tracking_of(number: str | None, carrier: str | None, url: str | None) -> Tracking | None:
    """Tracking as relayed to RxScale: a carrier only if it is a code, a URL only if safe."""
    if not number:
        return None
    return Tracking(
        number, carrier if carrier and is_code(carrier) else None, safe_tracking_url(url)
    )


def safe_tracking_url(url: str | None) -> str | None:
    """A tracking URL is relayed to RxScale and shown to patients: only https, to a host."""
    if not url or len(url) > 2048:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    return url.strip()


class OrderDetailsModel(WireModel):
    status: str | None = None
    code: str | None = None
    message: str = Field(default="", repr=False)  # free text: read, never kept


class NotifyRxDetailsModel(WireModel):
    prescription_token: str = TOKEN
    patient_token: str | None = None
    # Names of a medication and a prescriber: read, never kept.
    medication_name: str | None = Field(default=None, repr=False)
    prescriber: str | None = Field(default=None, repr=False)


class NotifyRxEventModel(WireModel):
    timestamp: int | str | None = None
    callback_type: str
    details: NotifyRxDetailsModel
