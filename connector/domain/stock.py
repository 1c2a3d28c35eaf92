"""Stock sync: which RxScale pharmacy SKUs need a new stock figure from Empower. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PharmacySku:
    uid: str
    external_id: str | None
    stock: int | None


@dataclass(frozen=True, slots=True)
class ProductAvailability:
    product_id: str
    in_stock: bool
    quantity_available: int

    @property
    def stock(self) -> int:
        return max(self.quantity_available, 0) if self.in_stock else 0


@dataclass(frozen=True, slots=True)
class StockChange:
    sku_uid: str
    product_id: str
    before: int | None
    after: int


def plan_stock_changes(
    skus: Iterable[PharmacySku],
    products: Mapping[str, ProductAvailability],
    *,
    only_sku: str | None = None,
) -> list[StockChange]:
    """SKUs whose external_id is an Empower product and whose stock differs from it."""
    changes = []
    for sku in skus:
        if only_sku is not None and sku.uid != only_sku:
            continue
        product = products.get(sku.external_id or "")
        if product is not None and sku.stock != product.stock:
            changes.append(StockChange(sku.uid, product.product_id, sku.stock, product.stock))
    return changes
