"""Empower Pharmacy API client: speaks Empower's envelope, returns domain objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from connector.domain.empower import (
    EmpowerOrder,
    OrderRequest,
    PatientRequest,
    PlacedOrder,
    PostalAddress,
    PrescriptionRequest,
    Shipment,
    Tracking,
)
from connector.domain.errors import Partner, TransientError, error_for_status
from connector.domain.retry import parse_retry_after
from connector.domain.stock import ProductAvailability
from connector.empower.models import (
    AddressIn,
    CancelledOut,
    DocumentIn,
    EnvelopeOut,
    MedicationIn,
    OrderIn,
    OrderOut,
    PatientIn,
    PatientOut,
    PlacedOrderOut,
    PrescriberIn,
    PrescriptionIn,
    PrescriptionOut,
    ProductOut,
)
from connector.partner.http import HttpReply, Limiter, PartnerHttp, RequestObserver
from connector.partner.wire import describe_validation_error

M = TypeVar("M", bound=BaseModel)


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
            Partner.EMPOWER,
            base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout_seconds=timeout_seconds,
            limiter=limiter,
            observer=observer,
        )

    async def close(self) -> None:
        await self._http.close()

    async def create_patient(self, request: PatientRequest, idempotency_key: str) -> str:
        body = PatientIn(
            external_id=request.external_id,
            first_name=request.first_name,
            last_name=request.last_name,
            date_of_birth=request.date_of_birth,
            email=request.email or None,
            address=_address(request.address),
        )
        reply = await self._call(
            "create_patient", "POST", "/v1/patients", body=body, idempotency_key=idempotency_key
        )
        return self._data("create_patient", reply, PatientOut).patient_token

    async def create_prescription(
        self, request: PrescriptionRequest, patient_token: str, idempotency_key: str
    ) -> str:
        body = PrescriptionIn(
            external_id=request.external_id,
            patient_token=patient_token,
            prescriber=PrescriberIn(name=request.prescriber.name, npi=request.prescriber.npi),
            medication=MedicationIn(product_id=request.product_id, quantity=request.quantity),
            document=DocumentIn(
                filename=request.document.filename,
                content_base64=request.document.content_base64,
            )
            if request.document
            else None,
        )
        reply = await self._call(
            "create_prescription",
            "POST",
            "/v1/prescriptions",
            body=body,
            idempotency_key=idempotency_key,
        )
        return self._data("create_prescription", reply, PrescriptionOut).prescription_token

    async def create_order(self, request: OrderRequest, idempotency_key: str) -> PlacedOrder:
        body = OrderIn(
            external_order_id=request.external_order_id,
            patient_token=request.patient_token,
            prescription_tokens=list(request.prescription_tokens),
            shipping_method=request.shipping_method,
            shipping_address=_address(request.shipping_address),
        )
        reply = await self._call(
            "create_order", "POST", "/v1/orders", body=body, idempotency_key=idempotency_key
        )
        placed = self._data("create_order", reply, PlacedOrderOut)
        return PlacedOrder(
            order_id=placed.order_id, request_id=placed.request_id, status=placed.status
        )

    async def find_order(self, external_order_id: str) -> EmpowerOrder | None:
        """The order placed for `external_order_id`, if any (after an ambiguous failure)."""
        reply = await self._call(
            "find_order", "GET", "/v1/orders", params={"external_order_id": external_order_id}
        )
        if not isinstance(reply.data, list):
            raise self._unreadable("find_order", "data is not a list")
        orders = [self._parse("find_order", item, OrderOut) for item in reply.data]
        matching = [o for o in orders if o.external_order_id == external_order_id]
        return _order(matching[0]) if matching else None

    async def get_order(self, order_id: str) -> EmpowerOrder:
        reply = await self._call("get_order", "GET", f"/v1/orders/{_segment(order_id)}")
        return _order(self._data("get_order", reply, OrderOut))

    async def cancel_order(self, order_id: str) -> str:
        reply = await self._call("cancel_order", "DELETE", f"/v1/orders/{_segment(order_id)}")
        return self._data("cancel_order", reply, CancelledOut).status

    async def list_products(self) -> list[ProductAvailability]:
        reply = await self._call("list_products", "GET", "/v1/products")
        if not isinstance(reply.data, list):
            raise self._unreadable("list_products", "data is not a list")
        return [
            ProductAvailability(p.product_id, p.in_stock, p.quantity_available)
            for p in (self._parse("list_products", item, ProductOut) for item in reply.data)
        ]

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
            raise self._unreadable(operation, "the response is not Empower's envelope")
        message = envelope.error_message() if envelope else f"HTTP {reply.status}"
        raise error_for_status(
            Partner.EMPOWER,
            operation,
            reply.status,
            message,
            retry_after=parse_retry_after(reply.headers.get("Retry-After"), datetime.now(UTC)),
            request_id=request_id,
        )

    def _data(self, operation: str, reply: EmpowerReply, model: type[M]) -> M:
        return self._parse(operation, reply.data, model)

    def _parse(self, operation: str, data: Any, model: type[M]) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self._unreadable(operation, describe_validation_error(exc)) from exc

    @staticmethod
    def _unreadable(operation: str, problem: str) -> TransientError:
        # A create that was answered with something unreadable may still have created:
        # that is ambiguous, so retry, and the retry looks the order up before creating.
        return TransientError(Partner.EMPOWER, operation, f"unreadable response: {problem}")


def _envelope(reply: HttpReply) -> EnvelopeOut | None:
    document = reply.json()
    if not isinstance(document, dict):
        return None
    try:
        return EnvelopeOut.model_validate(document)
    except ValidationError:
        return None


def _address(address: PostalAddress | None) -> AddressIn | None:
    if address is None:
        return None
    return AddressIn(
        line1=address.line1,
        line2=address.line2 or None,
        city=address.city,
        state=address.state or None,
        zip=address.zip,
        country=address.country,
    )


def _order(model: OrderOut) -> EmpowerOrder:
    return EmpowerOrder(
        order_id=model.order_id,
        request_id=model.request_id,
        external_order_id=model.external_order_id,
        status=model.status,
        shipments=tuple(
            Shipment(
                status=s.status,
                tracking=Tracking(s.tracking_number, s.carrier, s.tracking_url)
                if s.tracking_number
                else None,
            )
            for s in model.shipments
        ),
    )


def _segment(value: str) -> str:
    return quote(value, safe="")
