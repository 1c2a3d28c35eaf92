"""What the work side needs from each partner. The adapters' clients fit these."""

from __future__ import annotations

from typing import Protocol

from connector.domain.empower import (
    EmpowerOrder,
    OrderRequest,
    PatientRequest,
    PlacedOrder,
    PrescriptionRequest,
    Tracking,
)
from connector.domain.lifecycle import RxScaleStatus
from connector.domain.order import OrderPage, PharmacyOrder
from connector.domain.stock import PharmacySku, ProductAvailability


class SkuListing(Protocol):
    @property
    def skus(self) -> tuple[PharmacySku, ...]: ...

    @property
    def pages(self) -> int: ...


class RxScaleApi(Protocol):
    async def get_order(self, uid: str) -> PharmacyOrder: ...

    async def list_orders(
        self, *, status: str | None = None, page: int = 0, limit: int = 200
    ) -> OrderPage: ...

    async def list_skus(self, *, page: int = 0, limit: int = 200) -> SkuListing: ...

    async def set_stock(self, sku_uid: str, stock: int) -> None: ...

    async def set_status(
        self, uid: str, status: RxScaleStatus, comment: str | None = None
    ) -> None: ...

    async def complete_order(self, uid: str, tracking: Tracking) -> None: ...


class EmpowerApi(Protocol):
    async def create_patient(self, request: PatientRequest, idempotency_key: str) -> str: ...

    async def create_prescription(
        self, request: PrescriptionRequest, patient_token: str, idempotency_key: str
    ) -> str: ...

    async def create_order(self, request: OrderRequest, idempotency_key: str) -> PlacedOrder: ...

    async def find_orders(self, external_order_id: str) -> list[EmpowerOrder]: ...

    async def get_order(self, order_id: str) -> EmpowerOrder: ...

    async def cancel_order(self, order_id: str) -> str: ...

    async def list_products(self) -> list[ProductAvailability]: ...
