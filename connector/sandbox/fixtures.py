"""Fake orders and a shared product catalogue. Every patient value here is invented."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CatalogueProduct:
    product_id: str  # Empower's id, and the RxScale pharmacy SKU's external_id
    name: str
    sku_uid: str
    pharmacy_sku_uid: str
    pzn: str
    price_cents: int


CATALOGUE: tuple[CatalogueProduct, ...] = tuple(
    CatalogueProduct(product_id, name, f"sku-{short}", f"psku-{short}", pzn, price)
    for product_id, name, short, pzn, price in (
        ("EMP-SEMA-025", "Semaglutide 2.5 mg/mL injection", "sema", "18234561", 14900),
        ("EMP-TIRZ-050", "Tirzepatide 5 mg/mL injection", "tirz", "18234578", 19900),
        ("EMP-NAD-100", "NAD+ 100 mg/mL injection", "nad", "18234584", 8900),
        ("EMP-TEST-200", "Testosterone cypionate 200 mg/mL", "test", "18234590", 6900),
    )
)

FIRST_NAMES = ("Ada", "Bruno", "Clara", "Deniz", "Emil", "Frida", "Goran", "Hanna", "Ilse", "Jonas")
LAST_NAMES = ("Achterberg", "Brandt", "Castell", "Dorn", "Eckhart", "Falk", "Gruber", "Holm")
STREETS = ("Lindenweg", "Am Markt", "Hafenstraße", "Rosenallee", "Birkenstieg")
CITIES = (("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München"), ("50667", "Köln"))
DOCTORS = (("doc-1001", "Dr. Mira Sommer"), ("doc-1002", "Dr. Paul Weber"))

# A one-page PDF saying only "sandbox prescription"; stands in for the real scan.
FAKE_PDF = base64.b64encode(
    b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n% sandbox prescription\n%%EOF\n"
).decode("ascii")


def new_uid(rng: random.Random, prefix: str) -> str:
    return f"{prefix}-{rng.getrandbits(48):012x}"


def build_order(
    rng: random.Random,
    *,
    uid: str | None = None,
    status: str = "waiting for pharmacy",
    products: list[CatalogueProduct] | None = None,
    items: list[dict[str, Any]] | None = None,
    patient: dict[str, Any] | None = None,
    address: dict[str, Any] | None = None,
    without_address: bool = False,
    doctor: dict[str, Any] | None = None,
    shipping_identifier: str | None = "standard",
) -> dict[str, Any]:
    """One pharmacy order in RxScale's shape, with invented patient data."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    zip_code, city = rng.choice(CITIES)
    chosen = products if products is not None else rng.sample(CATALOGUE, k=rng.randint(1, 2))
    doctor_uid, doctor_name = rng.choice(DOCTORS)
    document: dict[str, Any] = {
        "uid": uid or new_uid(rng, "po"),
        "status": status,
        "name": f"#{rng.randint(1000, 99999)}",
        "external_status": "OPEN",
        "pharmacy": {"uid": "ph-sandbox", "display_name": "Sandbox Pharmacy"},
        "order": {
            "uid": new_uid(rng, "ord"),
            "delivery_address": None
            if without_address
            else address
            or {
                "first_name": first,
                "last_name": last,
                "street": rng.choice(STREETS),
                "house_number": str(rng.randint(1, 120)),
                "zip_code": zip_code,
                "city": city,
                "country": "DE",
                "additional_address": "",
                "province": "",
            },
            "priority": 0,
        },
        "order_items": items
        if items is not None
        else [
            {
                "uid": new_uid(rng, "oi"),
                "amount": rng.randint(1, 3),
                "sku": {
                    "uid": product.sku_uid,
                    "display_name": product.name,
                    "pzn": product.pzn,
                    "product_uid": f"prod-{product.sku_uid}",
                },
                "pharmacy_sku": {
                    "uid": product.pharmacy_sku_uid,
                    "external_id": product.product_id,
                    "price": product.price_cents,
                    "stock": 100,
                },
                "total_paid_amount": product.price_cents,
            }
            for product in chosen
        ],
        "shop_shipping_methods": [
            {
                "uid": "ssm-1",
                "display_name": "Standard",
                "external_id": "standard",
                "pharmacy_mapping": {
                    "pharmacy_uid": "ph-sandbox",
                    "shipping_method_identifier_for_pharmacy": shipping_identifier,
                }
                if shipping_identifier
                else None,
            }
        ],
        "delivery_type": {
            "uid": "dt-001",
            "display_name": "Standard Shipping",
            "identifier": "standard",
        },
        "patient_data": patient
        or {
            "uid": new_uid(rng, "pat"),
            "display_name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 999)}@example.org",
            "date_of_birth": _birth_date(rng),
        },
        "doctor_data": doctor or {"uid": doctor_uid, "display_name": doctor_name},
        "prescription_file": {"filename": "prescription.pdf", "content_base64": FAKE_PDF},
        "prepaid": 1,
    }
    return document


def _birth_date(rng: random.Random) -> str:
    return f"{rng.randint(1940, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
