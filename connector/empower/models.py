"""Empower's JSON (the contract in CONTRACT.md section 2, mostly assumed), as pydantic
models shared by the client and the sandbox server."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from connector.partner.wire import WireModel

TOKEN = Field(min_length=1, max_length=255)


# --- requests -----------------------------------------------------------------------------


class AddressIn(WireModel):
    line1: str = Field(min_length=1, repr=False)
    line2: str | None = Field(default=None, repr=False)
    city: str = Field(min_length=1, repr=False)
    state: str | None = Field(default=None, repr=False)
    zip: str = Field(min_length=1, repr=False)
    country: str = Field(min_length=1, repr=False)


class PatientIn(WireModel):
    external_id: str = TOKEN
    first_name: str = Field(min_length=1, repr=False)
    last_name: str = Field(min_length=1, repr=False)
    date_of_birth: str = Field(min_length=1, repr=False)
    email: str | None = Field(default=None, repr=False)
    phone: str | None = Field(default=None, repr=False)
    address: AddressIn | None = Field(default=None, repr=False)


class PrescriberIn(WireModel):
    name: str = Field(min_length=1)
    npi: str | None = None


class MedicationIn(WireModel):
    product_id: str = Field(min_length=1)
    quantity: int = Field(ge=1)


class DocumentIn(WireModel):
    filename: str = Field(repr=False)
    content_base64: str = Field(repr=False)


class PrescriptionIn(WireModel):
    external_id: str = TOKEN
    patient_token: str = TOKEN
    prescriber: PrescriberIn
    medication: MedicationIn
    document: DocumentIn | None = Field(default=None, repr=False)


class OrderIn(WireModel):
    external_order_id: str = TOKEN
    patient_token: str = TOKEN
    prescription_tokens: list[str] = Field(default_factory=list)
    # The introduction's example sends one token under this name; both are accepted.
    prescription_token: str | None = None
    shipping_method: str = Field(min_length=1)
    shipping_address: AddressIn | None = Field(default=None, repr=False)

    @model_validator(mode="after")
    def _has_a_prescription(self) -> OrderIn:
        if not self.prescription_tokens and not self.prescription_token:
            raise ValueError("prescription_tokens must name at least one prescription")
        return self

    def all_prescription_tokens(self) -> list[str]:
        tokens = list(self.prescription_tokens)
        if self.prescription_token and self.prescription_token not in tokens:
            tokens.append(self.prescription_token)
        return tokens


# --- responses ----------------------------------------------------------------------------


class MetaOut(WireModel):
    request_id: str | None = None
    timestamp: int | str | None = None


class EnvelopeOut(WireModel):
    status: str
    code: int | None = None
    data: Any = None
    error: str | dict[str, Any] | None = None
    meta: MetaOut = Field(default_factory=MetaOut)

    def error_message(self) -> str:
        if isinstance(self.error, dict):
            return str(self.error.get("message") or self.error.get("type") or self.error)
        return self.error or "no error message"


class PatientOut(WireModel):
    patient_token: str = TOKEN


class PrescriptionOut(WireModel):
    prescription_token: str = TOKEN


class PlacedOrderOut(WireModel):
    order_id: str = TOKEN
    request_id: str = TOKEN
    status: str


class ShipmentOut(WireModel):
    status: str
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


class OrderOut(WireModel):
    order_id: str = TOKEN
    request_id: str = TOKEN
    external_order_id: str
    status: str
    shipments: list[ShipmentOut] = Field(default_factory=list)


class CancelledOut(WireModel):
    status: str


class ProductOut(WireModel):
    product_id: str
    name: str = ""
    in_stock: bool = False
    quantity_available: int = 0


# --- webhooks ----------------------------------------------------------------------------


class RequestEventIn(WireModel):
    """A request event: the outcome of something we asked for, by its request_id."""

    request_id: str = TOKEN
    timestamp: int | str | None = None
    callback_type: str
    status: str = "success"
    details: dict[str, Any]


class ShipmentDetailsIn(WireModel):
    status: str = Field(min_length=1)
    message: str = ""
    tracking_number: str | None = None
    carrier: str | None = None
    tracking_url: str | None = None


class OrderDetailsIn(WireModel):
    status: str | None = None
    code: str | None = None
    message: str = ""


class NotifyRxEventIn(WireModel):
    timestamp: int | str | None = None
    callback_type: str
    details: NotifyRxDetailsIn


class NotifyRxDetailsIn(WireModel):
    prescription_token: str = TOKEN
    patient_token: str | None = None
    # Names of a medication and a prescriber: read, never kept.
    medication_name: str | None = Field(default=None, repr=False)
    prescriber: str | None = Field(default=None, repr=False)


NotifyRxEventIn.model_rebuild()
