"""How one RxScale pharmacy order becomes an Empower patient, prescriptions and order.

Pure: the caller fetches the order and sends the requests. What cannot be mapped is never
guessed; it comes back as `Unmappable`, naming each missing piece.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from connector.domain.empower import (
    Document,
    OrderRequest,
    PatientRequest,
    PostalAddress,
    Prescriber,
    PrescriptionRequest,
)
from connector.domain.order import Address, OrderItem, PharmacyOrder


@dataclass(frozen=True, slots=True)
class MappingPolicy:
    default_shipping_method: str = "standard"
    # Empower product id by RxScale SKU uid or PZN; wins over the SKU's own external_id so
    # that an operator can correct a wrong mapping without touching RxScale.
    product_map: Mapping[str, str] = field(default_factory=dict)
    # NPI by RxScale doctor uid.
    prescriber_npis: Mapping[str, str] = field(default_factory=dict)
    require_npi: bool = False


@dataclass(frozen=True, slots=True)
class PlacementPlan:
    patient: PatientRequest
    prescriptions: tuple[PrescriptionRequest, ...]
    shipping_method: str
    shipping_address: PostalAddress | None = field(repr=False)

    def sent_values(self) -> frozenset[str]:
        """Every patient value this plan sends to Empower, exactly as sent (a first name
        split from the display name included): what Empower may quote back at us."""
        patient = self.patient
        values = {
            patient.first_name,
            patient.last_name,
            f"{patient.first_name} {patient.last_name}",
            patient.date_of_birth,
            patient.email,
        }
        for address in (patient.address, self.shipping_address):
            if address is not None:
                values |= {address.line1, address.line2, address.city, address.zip}
        for prescription in self.prescriptions:
            if prescription.document is not None:
                values.add(prescription.document.filename)
        return frozenset(v for v in values if len(v.strip()) >= 2)

    def order_request(
        self, external_order_id: str, patient_token: str, prescription_tokens: tuple[str, ...]
    ) -> OrderRequest:
        return OrderRequest(
            external_order_id=external_order_id,
            patient_token=patient_token,
            prescription_tokens=prescription_tokens,
            shipping_method=self.shipping_method,
            shipping_address=self.shipping_address,
        )


@dataclass(frozen=True, slots=True)
class Unmappable:
    missing: tuple[str, ...]

    def comment(self) -> str:
        return "Cannot be sent to Empower: missing " + "; ".join(self.missing) + "."


def map_order(order: PharmacyOrder, policy: MappingPolicy) -> PlacementPlan | Unmappable:
    missing: list[str] = []
    if order.patient is None:
        missing.append("patient data on the order")
    if not order.items:
        missing.append("order items")

    products: dict[str, str] = {}
    for item in order.items:
        product_id = resolve_product(item, policy.product_map)
        if product_id is None:
            missing.append(_describe_unmapped_item(item))
        else:
            products[item.uid] = product_id

    prescriber: Prescriber | None = None
    if order.doctor is None:
        missing.append("prescriber (the order has no doctor_data)")
    else:
        npi = policy.prescriber_npis.get(order.doctor.uid)
        if npi is None and policy.require_npi:
            missing.append(
                f"NPI for prescriber {order.doctor.uid!r} ({order.doctor.display_name}) "
                "in the prescriber map"
            )
        prescriber = Prescriber(name=order.doctor.display_name, npi=npi)

    if missing or order.patient is None or prescriber is None:
        return Unmappable(tuple(missing))

    document = (
        Document(order.prescription_file.filename, order.prescription_file.content_base64)
        if order.prescription_file is not None
        else None
    )
    shipping_address = to_postal_address(order.delivery_address)
    first_name, last_name = patient_names(order.patient.display_name, order.delivery_address)
    patient = PatientRequest(
        external_id=order.patient.uid,
        first_name=first_name,
        last_name=last_name,
        date_of_birth=order.patient.date_of_birth,
        email=order.patient.email,
        address=shipping_address,
    )
    prescriptions = tuple(
        PrescriptionRequest(
            external_id=item.uid,
            item_uid=item.uid,
            prescriber=prescriber,
            product_id=products[item.uid],
            quantity=item.amount,
            document=document,
        )
        for item in order.items
    )
    return PlacementPlan(
        patient=patient,
        prescriptions=prescriptions,
        shipping_method=choose_shipping_method(order, policy.default_shipping_method),
        shipping_address=shipping_address,
    )


def resolve_product(item: OrderItem, product_map: Mapping[str, str]) -> str | None:
    for key in (item.sku_uid, item.pzn):
        if key and key in product_map:
            return product_map[key]
    return item.external_id or None


def choose_shipping_method(order: PharmacyOrder, default: str) -> str:
    for identifier in order.shipping_method_identifiers:
        if identifier:
            return identifier
    return order.delivery_type_identifier or default


def to_postal_address(address: Address | None) -> PostalAddress | None:
    if address is None:
        return None
    return PostalAddress(
        line1=f"{address.street} {address.house_number}".strip(),
        line2=address.additional_address,
        city=address.city,
        state=address.province,
        zip=address.zip_code,
        country=address.country,
    )


def patient_names(display_name: str, address: Address | None) -> tuple[str, str]:
    """First and last name for Empower's patient record.

    RxScale gives the patient only a display name. The delivery address has structured
    names; they are used when they spell the same person (or the display name is empty),
    otherwise the display name is split at its first space.
    """
    normalised = " ".join(display_name.split())
    if address is not None and address.first_name and address.last_name:
        structured = " ".join(f"{address.first_name} {address.last_name}".split())
        if not normalised or normalised.casefold() == structured.casefold():
            return address.first_name.strip(), address.last_name.strip()
    first, _, last = normalised.partition(" ")
    return first, last


def _describe_unmapped_item(item: OrderItem) -> str:
    parts = [f"SKU {item.sku_uid!r}"]
    if item.pzn:
        parts.append(f"PZN {item.pzn}")
    if item.sku_name:
        parts.append(repr(item.sku_name))
    return "Empower product for " + ", ".join(parts) + " (no external_id and no product map entry)"


@dataclass(frozen=True, slots=True)
class IdempotencyKeys:
    """An order's identity at Empower: the `Idempotency-Key`s of its creates and its
    `external_order_id`, stable across retries and replicas.

    `generation` grows when an operator re-runs an order, so that the corrected request is
    not answered with the cached rejection, and so that the new Empower order has an
    external id of its own (Empower may refuse a second order under an id it has seen).
    Generation 0 is the RxScale uid as it is.
    """

    order_uid: str
    generation: int = 0

    def _suffix(self) -> str:
        return f"-g{self.generation}" if self.generation else ""

    def _base(self) -> str:
        return f"rxscale-{self.order_uid}{self._suffix()}"

    def external_order_id(self) -> str:
        return f"{self.order_uid}{self._suffix()}"

    def patient(self) -> str:
        return f"{self._base()}-patient"

    def prescription(self, item_uid: str) -> str:
        return f"{self._base()}-rx-{item_uid}"

    def order(self) -> str:
        return f"{self._base()}-order"
