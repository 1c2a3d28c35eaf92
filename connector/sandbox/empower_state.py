"""The simulated Empower pharmacy itself: its records, the webhook events it sends, and
the scripted fulfilment of every order it accepts. `empower_server` puts an HTTP API on it."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

from connector.sandbox.delivery import WebhookSender
from connector.sandbox.empower_records import (
    FulfilmentScript,
    SandboxEmpowerOrder,
    WebhookTarget,
)
from connector.sandbox.faults import FaultPlan
from connector.sandbox.fixtures import CATALOGUE
from connector.sandbox.recording import RequestLog


class EmpowerPharmacy:
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
        if products & script.reject_products or (
            script.reject_rate and self.rng.random() < script.reject_rate
        ):
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
