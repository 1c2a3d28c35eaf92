"""What the pipeline needs from each partner. The adapters' clients fit these."""

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
from connector.domain.order import PharmacyOrder


class RxScaleApi(Protocol):
    async def get_order(self, uid: str) -> PharmacyOrder: ...

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

    async def find_order(self, external_order_id: str) -> EmpowerOrder | None: ...
