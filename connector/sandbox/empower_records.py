"""What the simulated Empower keeps and says: its envelope, orders, the scripted
fulfilment settings and the webhook target."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


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
    # The share of orders Empower rejects at random (the chaos run).
    reject_rate: float = 0.0


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
