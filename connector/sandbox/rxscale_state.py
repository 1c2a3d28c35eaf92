"""The simulated RxScale platform itself: its orders, SKUs and webhook subscriptions,
and the signed webhooks it sends. `rxscale_server` puts the External Pharmacy API on it."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from connector.sandbox.delivery import WebhookSender
from connector.sandbox.faults import FaultPlan
from connector.sandbox.fixtures import CATALOGUE, build_order, new_uid
from connector.sandbox.ratelimit import SlidingWindowLimit
from connector.sandbox.recording import RequestLog

BASE_PATH = "/v1/external_pharmacy_api"
EVENT_TYPES = ("pharmacy_order_created", "pharmacy_order_updated", "pharmacy_sku_stock_updated")

# Moves a pharmacy may make through `PATCH …/status`, as docs/partners.md assumes them.
ALLOWED_STATUS_CHANGES: dict[str, frozenset[str]] = {
    "waiting for pharmacy": frozenset({"pending review", "on-hold", "cancelled"}),
    "pending review": frozenset({"in-progress", "on-hold", "cancelled"}),
    "on-hold": frozenset({"pending review", "in-progress", "cancelled"}),
    "in-progress": frozenset({"ready_for_pickup", "on-hold"}),
    "ready_for_pickup": frozenset({"on-hold"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
COMPLETABLE = frozenset({"in-progress", "ready_for_pickup"})


@dataclass
class SandboxOrder:
    document: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    completion: dict[str, Any] | None = None
    completion_calls: int = 0  # complete_order requests that reached the order

    @property
    def uid(self) -> str:
        return str(self.document["uid"])

    @property
    def status(self) -> str:
        return str(self.document["status"])

    def set_status(self, status: str, comment: str | None = None) -> None:
        self.document["status"] = status
        self.document["updated_at"] = int(time.time())
        self.history.append({"status": status, "comment": comment, "at": time.time()})

    def summary(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "status": self.status,
            "history": self.history,
            "completion": self.completion,
        }


@dataclass
class Subscription:
    uid: str
    target: str
    notification_type: str
    signing_secret: str

    def public(self) -> dict[str, str]:
        return {"uid": self.uid, "target": self.target, "notification_type": self.notification_type}


class RxScalePlatform:
    def __init__(
        self,
        *,
        api_key: str = "rxs_sandbox_key",
        rate_limit: SlidingWindowLimit | None = None,
        seed: int | None = None,
        sender: WebhookSender | None = None,
        announce_own_stock_changes: bool = False,
    ) -> None:
        self.api_key = api_key
        # Whether a pharmacy's own stock update comes back as `pharmacy_sku_stock_updated`
        # is not documented; on, it shows that the connector's updates do not echo.
        self.announce_own_stock_changes = announce_own_stock_changes
        self.rate_limit = rate_limit
        self.rng = random.Random(seed)
        self.sender = sender or WebhookSender()
        self.faults = FaultPlan()
        self.orders: dict[str, SandboxOrder] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.skus: dict[str, dict[str, Any]] = {
            p.pharmacy_sku_uid: {
                "uid": p.pharmacy_sku_uid,
                "external_id": p.product_id,
                "price": p.price_cents,
                "stock": 100,
                "pharmacy": "ph-sandbox",
                "sku": {"uid": p.sku_uid, "display_name": p.name, "pzn": p.pzn},
            }
            for p in CATALOGUE
        }
        self.requests = RequestLog()
        self.stock_updates: list[tuple[str, int]] = []

    # --- what tests, the demo and the control API call ------------------------------------

    def add_order(self, document: dict[str, Any] | None = None, **overrides: Any) -> str:
        """Create an order, assign it to the pharmacy and send `pharmacy_order_created`."""
        order = SandboxOrder(document or build_order(self.rng, **overrides))
        order.history.append({"status": order.status, "comment": None, "at": time.time()})
        self.orders[order.uid] = order
        self.emit("pharmacy_order_created", order.document)
        return order.uid

    def cancel_order(self, uid: str) -> None:
        """RxScale (the system) cancels an order, and tells the pharmacy."""
        order = self.orders[uid]
        order.set_status("cancelled")
        self.emit("pharmacy_order_updated", order.document)

    def set_sku_stock(self, sku_uid: str, stock: int) -> None:
        """Stock changed outside the pharmacy's system (e.g. in the portal); RxScale says so."""
        self.skus[sku_uid]["stock"] = stock
        self.emit("pharmacy_sku_stock_updated", self.skus[sku_uid])

    def subscribe(self, target: str, notification_type: str) -> Subscription:
        subscription = Subscription(
            uid=new_uid(self.rng, "wh"),
            target=target,
            notification_type=notification_type,
            signing_secret=f"whsec_{secrets.token_hex(24)}",
        )
        self.subscriptions[subscription.uid] = subscription
        return subscription

    def emit(self, event_type: str, data: dict[str, Any], *, timestamp: int | None = None) -> None:
        envelope = {
            "event_type": event_type,
            "timestamp": int(time.time()) if timestamp is None else timestamp,
            "payload_version": "1",
            "data": data,
        }
        body = json.dumps(envelope).encode("utf-8")
        for subscription in self.subscriptions.values():
            if subscription.notification_type != event_type:
                continue
            signature = hmac.new(
                subscription.signing_secret.encode("utf-8"), body, hashlib.sha256
            ).hexdigest()
            self.sender.send(
                subscription.target,
                body,
                {
                    "Content-Type": "application/json",
                    "X-Webhook-Event": event_type,
                    "X-Webhook-Signature": signature,
                },
            )

    def count_requests(self, method: str, path_fragment: str, status: int | None = None) -> int:
        return self.requests.count(method, path_fragment, status)
