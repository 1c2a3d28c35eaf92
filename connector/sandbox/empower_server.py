"""A simulated Empower Pharmacy API (CONTRACT.md section 2).

Envelope on every answer, Bearer keys, `Idempotency-Key` replay, lookup by
`external_order_id`, the NPI and product rules, and scripted fulfilment that sends ORDER
and SHIPMENT webhooks after configurable delays.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from connector.domain.npi import is_valid_npi
from connector.empower.models import OrderIn, PatientIn, PrescriptionIn
from connector.sandbox.delivery import WebhookSender
from connector.sandbox.faults import FaultPlan, Handler, add_fault_control, fault_middleware
from connector.sandbox.fixtures import CATALOGUE
from connector.sandbox.recording import RequestLog

M = TypeVar("M", bound=BaseModel)
SHIPPED_STATUSES = frozenset({"SHIPPED", "DELIVERED"})


def _meta() -> dict[str, Any]:
    return {"request_id": f"req_{secrets.token_hex(6)}", "timestamp": int(time.time())}


def envelope(status: int, data: Any) -> web.Response:
    return web.json_response(
        {"status": "success", "code": status, "data": data, "error": None, "meta": _meta()},
        status=status,
    )


def envelope_error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"status": "error", "code": status, "data": None, "error": message, "meta": _meta()},
        status=status,
    )


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class FulfilmentScript:
    """What Empower does after accepting an order, and when (seconds after creation)."""

    enabled: bool = True
    processing_after: float = 0.1
    ship_after: float = 0.3
    deliver_after: float = 0.6
    carrier: str = "usps"
    # Products Empower accepts and later rejects asynchronously (an ORDER error event).
    reject_products: frozenset[str] = frozenset()


@dataclass
class SandboxEmpowerOrder:
    order_id: str
    request_id: str
    external_order_id: str
    patient_token: str
    prescription_tokens: list[str]
    shipping_method: str
    status: str = "RECEIVED"
    shipments: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "request_id": self.request_id,
            "external_order_id": self.external_order_id,
            "status": self.status,
            "shipping_method": self.shipping_method,
            "shipments": self.shipments,
        }


@dataclass
class WebhookTarget:
    url: str
    key: str
    scheme: str = "bearer"  # or "basic"

    def authorization(self) -> str:
        if self.scheme == "basic":
            raw = f"empower:{self.key}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        return f"Bearer {self.key}"


class EmpowerSandbox:
    def __init__(
        self,
        *,
        api_key: str = "emp_sandbox_key",
        fulfilment: FulfilmentScript | None = None,
        sender: WebhookSender | None = None,
        seed: int | None = None,
        honour_idempotency_keys: bool = True,
        refuse_duplicate_orders: bool = True,
    ) -> None:
        self.api_key = api_key
        # Both protections are assumptions about Empower; switching them off shows what
        # the connector's own lookup before every placement is worth on its own.
        self.honour_idempotency_keys = honour_idempotency_keys
        self.refuse_duplicate_orders = refuse_duplicate_orders
        self.fulfilment = fulfilment or FulfilmentScript()
        self.sender = sender or WebhookSender()
        self.rng = random.Random(seed)
        self.faults = FaultPlan()
        self.webhook: WebhookTarget | None = None
        self.products = {p.product_id: p for p in CATALOGUE}
        # (in stock, quantity available) by product, as GET /v1/products reports it.
        self.availability = {p.product_id: (True, 250) for p in CATALOGUE}
        self.patients: dict[str, dict[str, Any]] = {}
        self.patients_by_external_id: dict[str, str] = {}
        self.prescriptions: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, SandboxEmpowerOrder] = {}
        self.idempotency: dict[str, tuple[str, int, Any]] = {}
        self.create_attempts: dict[str, int] = {}
        self.requests = RequestLog()
        self._tasks: set[asyncio.Task[None]] = set()

    # --- what tests and the demo call -------------------------------------------------------

    def orders_for(self, external_order_id: str) -> list[SandboxEmpowerOrder]:
        return [o for o in self.orders.values() if o.external_order_id == external_order_id]

    def send_event(self, event: dict[str, Any]) -> None:
        if self.webhook is None:
            return
        body = json.dumps(event).encode("utf-8")
        self.sender.send(
            self.webhook.url,
            body,
            {"Content-Type": "application/json", "Authorization": self.webhook.authorization()},
        )

    def shipment_event(self, order: SandboxEmpowerOrder, status: str) -> dict[str, Any]:
        shipment = order.shipments[-1] if order.shipments else {}
        return {
            "request_id": order.request_id,
            "timestamp": int(time.time()),
            "callback_type": "SHIPMENT",
            "status": "success",
            "details": {
                "status": status,
                "message": f"Shipment {status.lower().replace('_', ' ')}.",
                "tracking_number": shipment.get("tracking_number"),
                "carrier": shipment.get("carrier"),
                "tracking_url": shipment.get("tracking_url"),
            },
        }

    def order_event(
        self, order: SandboxEmpowerOrder, status: str, *, error: str | None = None
    ) -> dict[str, Any]:
        details: dict[str, Any] = {"status": status, "message": error or f"Order {status}."}
        if error:
            details["code"] = "R3"
        return {
            "request_id": order.request_id,
            "timestamp": int(time.time()),
            "callback_type": "ORDER",
            "status": "error" if error else "success",
            "details": details,
        }

    # --- the HTTP application ---------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[
                self.requests.middleware(),
                fault_middleware(self.faults, envelope_error),
                self._authenticate,
            ]
        )
        routes = web.RouteTableDef()
        routes.post("/v1/patients")(self._idempotent(self._create_patient))
        routes.post("/v1/prescriptions")(self._idempotent(self._create_prescription))
        routes.post("/v1/orders")(self._idempotent(self._create_order))
        routes.get("/v1/orders")(self._find_orders)
        routes.get("/v1/orders/{order_id}")(self._get_order)
        routes.delete("/v1/orders/{order_id}")(self._cancel_order)
        routes.get("/v1/products")(self._products)
        routes.post("/_sandbox/webhook")(self._control_webhook)
        routes.get("/_sandbox/orders")(self._control_orders)
        routes.post("/_sandbox/events")(self._control_event)
        routes.post("/_sandbox/fulfilment")(self._control_fulfilment)
        app.add_routes(routes)
        add_fault_control(app, self.faults, envelope_error)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _cleanup(self, _app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.sender.close()

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/_sandbox/"):
            scheme, _, key = request.headers.get("Authorization", "").partition(" ")
            if scheme != "Bearer" or not hmac.compare_digest(key.encode(), self.api_key.encode()):
                return envelope_error(401, "Unauthorized — invalid or missing API key")
        return await handler(request)

    def _idempotent(
        self, create: Callable[[Any], Awaitable[tuple[int, Any]]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            raw = await request.read()
            try:
                document = json.loads(raw)
            except ValueError:
                return envelope_error(400, "body is not valid JSON")
            key = request.headers.get("Idempotency-Key") if self.honour_idempotency_keys else None
            fingerprint = hashlib.sha256(request.path.encode() + b"\0" + raw).hexdigest()
            if key is not None and key in self.idempotency:
                seen, status, data = self.idempotency[key]
                if seen != fingerprint:
                    return envelope_error(409, "Idempotency-Key reused with a different request")
                return envelope(status, data)
            self.create_attempts[request.path] = self.create_attempts.get(request.path, 0) + 1
            try:
                status, data = await create(document)
            except Refused as refusal:
                return envelope_error(refusal.status, refusal.message)
            if key is not None:
                self.idempotency[key] = (fingerprint, status, data)
            return envelope(status, data)

        return handle

    @staticmethod
    def _validate(model: type[M], document: Any) -> M:
        try:
            return model.model_validate(document)
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            raise Refused(400, f"missing or invalid fields: {', '.join(fields)}") from None

    async def _create_patient(self, document: Any) -> tuple[int, Any]:
        patient = self._validate(PatientIn, document)
        if patient.address is None:
            # Like many real APIs, Empower's message names the patient it refuses.
            raise Refused(
                422,
                f"incomplete patient record for {patient.first_name} {patient.last_name}: "
                "an address is required",
            )
        existing = self.patients_by_external_id.get(patient.external_id)
        if existing is not None:
            return 200, {"patient_token": existing, "external_id": patient.external_id}
        token = f"pt_{secrets.token_hex(6)}"
        self.patients[token] = patient.model_dump()
        self.patients_by_external_id[patient.external_id] = token
        return 201, {"patient_token": token, "external_id": patient.external_id}

    async def _create_prescription(self, document: Any) -> tuple[int, Any]:
        prescription = self._validate(PrescriptionIn, document)
        if prescription.patient_token not in self.patients:
            raise Refused(404, f"unknown patient_token {prescription.patient_token}")
        if prescription.medication.product_id not in self.products:
            raise Refused(422, f"unknown product_id {prescription.medication.product_id}")
        npi = prescription.prescriber.npi
        if npi is not None and not is_valid_npi(npi):
            raise Refused(422, f"invalid NPI {npi} for prescriber")
        token = f"rx_{secrets.token_hex(6)}"
        self.prescriptions[token] = prescription.model_dump()
        return 201, {"prescription_token": token, "patient_token": prescription.patient_token}

    async def _create_order(self, document: Any) -> tuple[int, Any]:
        order_in = self._validate(OrderIn, document)
        if order_in.patient_token not in self.patients:
            raise Refused(404, f"unknown patient_token {order_in.patient_token}")
        tokens = order_in.all_prescription_tokens()
        for token in tokens:
            prescription = self.prescriptions.get(token)
            if prescription is None:
                raise Refused(404, f"unknown prescription_token {token}")
            if prescription["patient_token"] != order_in.patient_token:
                raise Refused(422, f"prescription {token} belongs to another patient")
        if self.refuse_duplicate_orders and self.orders_for(order_in.external_order_id):
            raise Refused(
                409, f"an order with external_order_id {order_in.external_order_id} exists"
            )
        order = SandboxEmpowerOrder(
            order_id=f"ord_{secrets.token_hex(6)}",
            request_id=f"fill_request_{secrets.token_hex(10)}",
            external_order_id=order_in.external_order_id,
            patient_token=order_in.patient_token,
            prescription_tokens=tokens,
            shipping_method=order_in.shipping_method,
        )
        self.orders[order.order_id] = order
        self._start_fulfilment(order)
        return 201, {
            "order_id": order.order_id,
            "request_id": order.request_id,
            "status": order.status,
        }

    async def _find_orders(self, request: web.Request) -> web.Response:
        wanted = request.query.get("external_order_id")
        found = [o.public() for o in self.orders.values() if wanted in (None, o.external_order_id)]
        return envelope(200, found)

    async def _get_order(self, request: web.Request) -> web.Response:
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            return envelope_error(404, "order not found")
        return envelope(200, order.public())

    async def _cancel_order(self, request: web.Request) -> web.Response:
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            return envelope_error(404, "order not found")
        if order.status in SHIPPED_STATUSES:
            return envelope_error(409, f"order already {order.status.lower()}; cannot cancel")
        order.status = "CANCELLED"
        return envelope(200, {"order_id": order.order_id, "status": order.status})

    async def _products(self, _request: web.Request) -> web.Response:
        return envelope(
            200,
            [
                {
                    "product_id": p.product_id,
                    "name": p.name,
                    "in_stock": self.availability[p.product_id][0],
                    "quantity_available": self.availability[p.product_id][1],
                }
                for p in self.products.values()
            ],
        )

    # --- scripted fulfilment -----------------------------------------------------------------

    def _start_fulfilment(self, order: SandboxEmpowerOrder) -> None:
        if not self.fulfilment.enabled:
            return
        task = asyncio.get_running_loop().create_task(self._fulfil(order, self.fulfilment))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fulfil(self, order: SandboxEmpowerOrder, script: FulfilmentScript) -> None:
        started = time.monotonic()

        async def at(offset: float) -> None:
            await asyncio.sleep(max(0.0, started + offset - time.monotonic()))

        await at(script.processing_after)
        if order.status == "CANCELLED":
            return
        products = {
            self.prescriptions[t]["medication"]["product_id"] for t in order.prescription_tokens
        }
        if products & script.reject_products:
            order.status = "REJECTED"
            self.send_event(self.order_event(order, "REJECTED", error="product out of stock"))
            return
        order.status = "PROCESSING"
        self.send_event(self.order_event(order, "PROCESSING"))
        await at(script.ship_after)
        if order.status == "CANCELLED":
            return
        self.send_event(self.ship(order, script.carrier))
        await at(script.deliver_after)
        self.send_event(self.deliver(order))

    def ship(self, order: SandboxEmpowerOrder, carrier: str = "usps") -> dict[str, Any]:
        """Ship the order (a tracking number appears) and return the SHIPMENT event, unsent."""
        number = f"9400{self.rng.randrange(10**18):018d}"
        order.status = "SHIPPED"
        order.shipments.append(
            {
                "status": "SHIPPED",
                "carrier": carrier,
                "tracking_number": number,
                "tracking_url": f"https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
            }
        )
        return self.shipment_event(order, "SHIPPED")

    def deliver(self, order: SandboxEmpowerOrder) -> dict[str, Any]:
        """Deliver a shipped order and return the SHIPMENT DELIVERED event, unsent."""
        order.status = "DELIVERED"
        order.shipments[-1]["status"] = "DELIVERED"
        return self.shipment_event(order, "DELIVERED")

    # --- control -------------------------------------------------------------------------------

    async def _control_webhook(self, request: web.Request) -> web.Response:
        document = await request.json()
        self.webhook = WebhookTarget(
            url=document["url"], key=document["key"], scheme=document.get("scheme", "bearer")
        )
        return web.json_response({"url": self.webhook.url})

    async def _control_orders(self, _request: web.Request) -> web.Response:
        return web.json_response([o.public() for o in self.orders.values()])

    async def _control_event(self, request: web.Request) -> web.Response:
        self.send_event(await request.json())
        return web.json_response({"sent": True}, status=202)

    async def _control_fulfilment(self, request: web.Request) -> web.Response:
        document = await request.json()
        for name in ("enabled", "processing_after", "ship_after", "deliver_after", "carrier"):
            if name in document:
                setattr(self.fulfilment, name, document[name])
        if "reject_products" in document:
            self.fulfilment.reject_products = frozenset(document["reject_products"])
        return web.json_response({"enabled": self.fulfilment.enabled})
