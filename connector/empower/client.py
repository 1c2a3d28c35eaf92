"""Empower Pharmacy API client: speaks Empower's envelope, returns domain objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from connector.domain.empower import (
    EmpowerOrder,
    OrderRequest,
    PatientRequest,
    PlacedOrder,
    PrescriptionRequest,
)
from connector.domain.errors import NotFoundError, Partner
from connector.domain.stock import ProductAvailability
from connector.empower.models import (
    CancelledModel,
    CreatedPatientModel,
    CreatedPrescriptionModel,
    EnvelopeModel,
    NewOrderModel,
    OrderModel,
    PatientModel,
    PlacedOrderModel,
    PrescriptionModel,
    ProductModel,
)
from connector.partner.errors import error_for_reply
from connector.partner.http import HttpReply, Limiter, PartnerHttp, RequestObserver, path_segment
from connector.partner.wire import read_response, unreadable

M = TypeVar("M", bound=BaseModel)
EMPOWER = Partner.EMPOWER


@dataclass(frozen=True, slots=True)
class EmpowerReply:
    data: Any
    request_id: str | None


class EmpowerClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_seconds: float = 15.0,
        limiter: Limiter | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self._http = PartnerHttp(
            EMPOWER,
            base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout_seconds=timeout_seconds,
            limiter=limiter,
            observer=observer,
        )

    async def close(self) -> None:
        await self._http.close()

    async def create_patient(self, request: PatientRequest, idempotency_key: str) -> str:
        body = PatientModel.from_domain(request)
        reply = await self._call(
            "create_patient", "POST", "/v1/patients", body=body, idempotency_key=idempotency_key
        )
        return _read("create_patient", reply.data, CreatedPatientModel).patient_token

    async def create_prescription(
        self, request: PrescriptionRequest, patient_token: str, idempotency_key: str
    ) -> str:
        body = PrescriptionModel.from_domain(request, patient_token)
        reply = await self._call(
            "create_prescription",
            "POST",
            "/v1/prescriptions",
            body=body,
            idempotency_key=idempotency_key,
        )
        return _read("create_prescription", reply.data, CreatedPrescriptionModel).prescription_token

    async def create_order(self, request: OrderRequest, idempotency_key: str) -> PlacedOrder:
        body = NewOrderModel.from_domain(request)
        reply = await self._call(
            "create_order", "POST", "/v1/orders", body=body, idempotency_key=idempotency_key
        )
        return _read("create_order", reply.data, PlacedOrderModel).to_domain()

    async def find_orders(self, external_order_id: str) -> list[EmpowerOrder]:
        """Every order Empower has under `external_order_id`, whatever its status. None is
        not an error, whether Empower says so with an empty list or with a 404."""
        try:
            reply = await self._call(
                "find_orders", "GET", "/v1/orders", params={"external_order_id": external_order_id}
            )
        except NotFoundError:
            return []
        orders = [model.to_domain() for model in _read_list("find_orders", reply, OrderModel)]
        return [order for order in orders if order.external_order_id == external_order_id]

    async def get_order(self, order_id: str) -> EmpowerOrder:
        reply = await self._call("get_order", "GET", f"/v1/orders/{path_segment(order_id)}")
        return _read("get_order", reply.data, OrderModel).to_domain()

    async def cancel_order(self, order_id: str) -> str:
        reply = await self._call("cancel_order", "DELETE", f"/v1/orders/{path_segment(order_id)}")
        return _read("cancel_order", reply.data, CancelledModel).status

    async def list_products(self) -> list[ProductAvailability]:
        reply = await self._call("list_products", "GET", "/v1/products")
        return [model.to_domain() for model in _read_list("list_products", reply, ProductModel)]

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> EmpowerReply:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        reply = await self._http.request(
            operation,
            method,
            path,
            json_body=body.model_dump(exclude_none=True) if body is not None else None,
            params=params,
            headers=headers,
        )
        envelope = _envelope(reply)
        request_id = envelope.meta.request_id if envelope else None
        if 200 <= reply.status < 300 and envelope is not None:
            return EmpowerReply(data=envelope.data, request_id=request_id)
        if 200 <= reply.status < 300:
            raise unreadable(EMPOWER, operation, "the response is not Empower's envelope")
        raise error_for_reply(
            EMPOWER,
            operation,
            reply,
            _error_text(operation, reply.status, envelope),
            request_id=request_id,
        )


# Where patient data is sent, the placement handler scrubs Empower's answer with the values
# it sent. Everywhere else there is nothing to scrub with, so only codes are kept.
SCRUBBED_BY_CALLER = frozenset({"create_patient", "create_prescription", "create_order"})


def _error_text(operation: str, status: int, envelope: EnvelopeModel | None) -> str:
    if envelope is not None and operation in SCRUBBED_BY_CALLER:
        return envelope.error_message()
    code = envelope.error_code() if envelope is not None else None
    return f"HTTP {status}" + (f" ({code})" if code else "")


def _read(operation: str, data: Any, model: type[M]) -> M:
    return read_response(EMPOWER, operation, data, model)


def _read_list(operation: str, reply: EmpowerReply, model: type[M]) -> list[M]:
    if not isinstance(reply.data, list):
        raise unreadable(EMPOWER, operation, "data is not a list")
    return [_read(operation, item, model) for item in reply.data]


def _envelope(reply: HttpReply) -> EnvelopeModel | None:
    document = reply.json()
    if not isinstance(document, dict):
        return None
    try:
        return EnvelopeModel.model_validate(document)
    except ValidationError:
        return None
