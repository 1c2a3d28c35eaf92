"""An RxScale pharmacy order as the connector needs it.

Patient-bearing classes never show their values in `repr`: an exception message or a log
line that formats one of them by accident must not carry patient data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connector.domain.lifecycle import RxScaleStatus


@dataclass(frozen=True, slots=True)
class Address:
    first_name: str = field(default="", repr=False)
    last_name: str = field(default="", repr=False)
    street: str = field(default="", repr=False)
    house_number: str = field(default="", repr=False)
    zip_code: str = field(default="", repr=False)
    city: str = field(default="", repr=False)
    country: str = field(default="", repr=False)
    additional_address: str = field(default="", repr=False)
    province: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class Patient:
    uid: str
    display_name: str = field(default="", repr=False)
    email: str = field(default="", repr=False)
    date_of_birth: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class Doctor:
    uid: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class PrescriptionFile:
    filename: str = field(repr=False)
    content_base64: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class OrderItem:
    uid: str
    amount: int
    sku_uid: str
    sku_name: str = ""
    pzn: str | None = None
    pharmacy_sku_uid: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class PharmacyOrder:
    uid: str
    status: RxScaleStatus | str
    name: str | None
    items: tuple[OrderItem, ...]
    delivery_address: Address | None
    patient: Patient | None
    doctor: Doctor | None
    prescription_file: PrescriptionFile | None = None
    shipping_method_identifiers: tuple[str, ...] = ()
    delivery_type_identifier: str | None = None

    def sensitive_values(self) -> frozenset[str]:
        """Every patient value of this order, for scrubbing partner messages."""
        values: set[str] = set()
        if self.patient is not None:
            values |= {self.patient.display_name, self.patient.email, self.patient.date_of_birth}
        if self.delivery_address is not None:
            a = self.delivery_address
            values |= {
                a.first_name,
                a.last_name,
                a.street,
                a.zip_code,
                a.city,
                a.additional_address,
                f"{a.street} {a.house_number}".strip(),
            }
        return frozenset(v for v in values if len(v.strip()) >= 3)


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: tuple[PharmacyOrder, ...]
    total: int
    pages: int
