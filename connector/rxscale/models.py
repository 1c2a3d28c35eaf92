"""RxScale's JSON as pydantic models, each with its way to or from domain values.

Unknown fields are ignored, never rejected. Validation errors never echo their input, and
patient fields stay out of `repr`: both can end up in logs.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import Field

from connector.domain.empower import Tracking
from connector.domain.lifecycle import RxScaleStatus
from connector.domain.order import (
    Address,
    Doctor,
    OrderItem,
    Patient,
    PharmacyOrder,
    PrescriptionFile,
)
from connector.domain.stock import PharmacySku
from connector.partner.wire import WireModel

UID = Field(min_length=1, max_length=255)


class AddressModel(WireModel):
    first_name: str = Field(default="", repr=False)
    last_name: str = Field(default="", repr=False)
    street: str = Field(default="", repr=False)
    house_number: str = Field(default="", repr=False)
    zip_code: str = Field(default="", repr=False)
    city: str = Field(default="", repr=False)
    country: str = Field(default="", repr=False)
    additional_address: str | None = Field(default=None, repr=False)
    province: str | None = Field(default=None, repr=False)

    def to_domain(self) -> Address:
        return Address(
            first_name=self.first_name,
            last_name=self.last_name,
            street=self.street,
            house_number=self.house_number,
            zip_code=self.zip_code,
            city=self.city,
            country=self.country,
            additional_address=self.additional_address or "",
            province=self.province or "",
        )


class SkuModel(WireModel):
    uid: str = UID
    display_name: str = ""
    pzn: str | None = None
    product_uid: str | None = None


class PharmacySkuRefModel(WireModel):
    uid: str = UID
    external_id: str | None = None
    price: int | None = None
    stock: int | None = None


class OrderItemModel(WireModel):
    uid: str = UID
    amount: int = Field(default=1, ge=1)
    sku: SkuModel
    pharmacy_sku: PharmacySkuRefModel | None = None

    def to_domain(self) -> OrderItem:
        return OrderItem(
            uid=self.uid,
            amount=self.amount,
            sku_uid=self.sku.uid,
            sku_name=self.sku.display_name,
            pzn=self.sku.pzn,
            pharmacy_sku_uid=self.pharmacy_sku.uid if self.pharmacy_sku else None,
            external_id=self.pharmacy_sku.external_id if self.pharmacy_sku else None,
        )


class ShopOrderModel(WireModel):
    uid: str | None = None
    delivery_address: AddressModel | None = None
    invoice_address: AddressModel | None = None
    priority: int | None = None


class PharmacyMappingModel(WireModel):
    pharmacy_uid: str | None = None
    shipping_method_identifier_for_pharmacy: str | None = None


class ShippingMethodModel(WireModel):
    uid: str | None = None
    display_name: str | None = None
    external_id: str | None = None
    pharmacy_mapping: PharmacyMappingModel | None = None


class DeliveryTypeModel(WireModel):
    uid: str | None = None
    display_name: str | None = None
    identifier: str | None = None


class PatientDataModel(WireModel):
    uid: str = UID
    display_name: str = Field(default="", repr=False)
    email: str = Field(default="", repr=False)
    date_of_birth: str = Field(default="", repr=False)


class DoctorDataModel(WireModel):
    uid: str = UID
    display_name: str = ""


class PrescriptionFileModel(WireModel):
    filename: str = Field(repr=False)
    content_base64: str = Field(repr=False)


class PharmacyOrderModel(WireModel):
    uid: str = UID
    status: str
    name: str | None = None
    order: ShopOrderModel | None = None
    order_items: list[OrderItemModel] = Field(default_factory=list)
    shop_shipping_methods: list[ShippingMethodModel] = Field(default_factory=list)
    delivery_type: DeliveryTypeModel | None = None
    patient_data: PatientDataModel | None = Field(default=None, repr=False)
    doctor_data: DoctorDataModel | None = None
    prescription_file: PrescriptionFileModel | None = Field(default=None, repr=False)

    def to_domain(self) -> PharmacyOrder:
        address = self.order.delivery_address if self.order else None
        identifiers = tuple(
            m.pharmacy_mapping.shipping_method_identifier_for_pharmacy
            for m in self.shop_shipping_methods
            if m.pharmacy_mapping and m.pharmacy_mapping.shipping_method_identifier_for_pharmacy
        )
        patient = self.patient_data
        return PharmacyOrder(
            uid=self.uid,
            status=self.status,
            name=self.name,
            items=tuple(item.to_domain() for item in self.order_items),
            delivery_address=address.to_domain() if address else None,
            patient=Patient(
                uid=patient.uid,
                display_name=patient.display_name,
                email=patient.email,
                date_of_birth=patient.date_of_birth,
            )
            if patient
            else None,
            doctor=Doctor(uid=self.doctor_data.uid, display_name=self.doctor_data.display_name)
            if self.doctor_data
            else None,
            prescription_file=PrescriptionFile(
                filename=self.prescription_file.filename,
                content_base64=self.prescription_file.content_base64,
            )
            if self.prescription_file
            else None,
            shipping_method_identifiers=identifiers,
            delivery_type_identifier=self.delivery_type.identifier if self.delivery_type else None,
        )


class PharmacySkuModel(WireModel):
    uid: str = UID
    external_id: str | None = None
    price: int | None = None
    stock: int | None = None
    sku: SkuModel | None = None

    def to_domain(self) -> PharmacySku:
        return PharmacySku(self.uid, self.external_id, self.stock)


T = TypeVar("T")


class PageModel(WireModel, Generic[T]):
    data: list[T]
    totalRegistries: int  # noqa: N815 - RxScale's spelling
    totalPages: int  # noqa: N815


class WebhookEnvelopeModel(WireModel):
    event_type: str = Field(min_length=1, max_length=64)
    timestamp: int
    payload_version: str | None = None
    data: dict[str, Any]


class WebhookSubscriptionModel(WireModel):
    uid: str = UID
    target: str
    notification_type: str
    signing_secret: str | None = Field(default=None, repr=False)


class NewWebhookSubscriptionModel(WireModel):
    target: str = Field(min_length=1)
    notification_type: str = Field(min_length=1)


class StatusUpdateModel(WireModel):
    status: str = Field(min_length=1)
    comment: str | None = None

    @classmethod
    def from_domain(cls, status: RxScaleStatus, comment: str | None) -> StatusUpdateModel:
        return cls(status=status.value, comment=comment)


class CompleteOrderModel(WireModel):
    """The `complete_order` body, assumed (docs/partners.md): RxScale does not show it."""

    tracking_number: str | None = None
    tracking_url: str | None = None
    carrier: str | None = None

    @classmethod
    def from_domain(cls, tracking: Tracking) -> CompleteOrderModel:
        return cls(
            tracking_number=tracking.tracking_number,
            tracking_url=tracking.tracking_url,
            carrier=tracking.carrier,
        )


class StockUpdateModel(WireModel):
    stock: int = Field(ge=0)


class ErrorModel(WireModel):
    error: str | None = None
    code: str | None = None
    description: str | None = None

    def message(self) -> str:
        return self.error or self.description or self.code or "no error message"
