"""A simulated Empower Pharmacy API, as docs/partners.md describes it.

Envelope on every answer, Bearer keys, `Idempotency-Key` replay, lookup by
`external_order_id`, the NPI and product rules, and scripted fulfilment that sends ORDER
and SHIPMENT webhooks after configurable delays.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from connector.domain.npi import is_valid_npi
from connector.sandbox import contract
from connector.sandbox.empower_records import (
    Refused,
    SandboxEmpowerOrder,
    WebhookTarget,
    envelope,
    envelope_error,
)
from connector.sandbox.empower_state import EmpowerPharmacy
from connector.sandbox.faults import Handler, add_fault_control, fault_middleware

SHIPPED_STATUSES = frozenset({"SHIPPED", "DELIVERED"})


class EmpowerSandbox(EmpowerPharmacy):
    """The HTTP API over the simulated pharmacy, with control endpoints under /_sandbox/."""

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
    def _validate(rule: contract.Rule, document: Any) -> dict[str, Any]:
        try:
            contract.check(rule, document)
        except contract.Violation as exc:
            raise Refused(400, f"missing or invalid fields: {exc}") from None
        return dict(document)

    async def _create_patient(self, document: Any) -> tuple[int, Any]:
        patient = self._validate(contract.EMPOWER_PATIENT, document)
        if patient.get("address") is None:
            # Like many real APIs, Empower's message names the patient it refuses.
            raise Refused(
                422,
                f"incomplete patient record for {patient['last_name']}, {patient['first_name']}: "
                "an address is required",
            )
        external_id = patient["external_id"]
        existing = self.patients_by_external_id.get(external_id)
        if existing is not None:
            return 200, {"patient_token": existing, "external_id": external_id}
        token = f"pt_{secrets.token_hex(6)}"
        self.patients[token] = patient
        self.patients_by_external_id[external_id] = token
        return 201, {"patient_token": token, "external_id": external_id}

    async def _create_prescription(self, document: Any) -> tuple[int, Any]:
        prescription = self._validate(contract.EMPOWER_PRESCRIPTION, document)
        patient_token = prescription["patient_token"]
        product_id = prescription["medication"]["product_id"]
        if patient_token not in self.patients:
            raise Refused(404, f"unknown patient_token {patient_token}")
        if product_id not in self.products:
            raise Refused(422, f"unknown product_id {product_id}")
        npi = prescription["prescriber"].get("npi")
        if npi is not None and not is_valid_npi(npi):
            raise Refused(422, f"invalid NPI {npi} for prescriber")
        token = f"rx_{secrets.token_hex(6)}"
        self.prescriptions[token] = prescription
        return 201, {"prescription_token": token, "patient_token": patient_token}

    async def _create_order(self, document: Any) -> tuple[int, Any]:
        order_in = self._validate(contract.EMPOWER_ORDER, document)
        patient_token = order_in["patient_token"]
        external_order_id = order_in.get("external_order_id") or ""
        if patient_token not in self.patients:
            raise Refused(404, f"unknown patient_token {patient_token}")
        try:
            tokens = contract.empower_order_tokens(order_in)
        except contract.Violation as exc:
            raise Refused(400, f"missing or invalid fields: {exc}") from None
        for token in tokens:
            prescription = self.prescriptions.get(token)
            if prescription is None:
                raise Refused(404, f"unknown prescription_token {token}")
            if prescription["patient_token"] != patient_token:
                raise Refused(422, f"prescription {token} belongs to another patient")
        if (
            self.refuse_duplicate_orders
            and external_order_id
            and self.orders_for(external_order_id)
        ):
            raise Refused(409, f"an order with external_order_id {external_order_id} exists")
        order = SandboxEmpowerOrder(
            order_id=f"ord_{secrets.token_hex(6)}",
            request_id=f"fill_request_{secrets.token_hex(10)}",
            external_order_id=external_order_id,
            patient_token=patient_token,
            prescription_tokens=tokens,
            shipping_method=order_in["shipping_method"],
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
