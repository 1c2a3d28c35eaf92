"""A simulated RxScale External Pharmacy API (CONTRACT.md section 1).

Serves orders with invented patient data, enforces RxScale's status rules as the contract
assumes them, signs its webhooks, and answers control requests under `/_sandbox/`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from connector.rxscale.models import (
    CompleteOrderModel,
    NewWebhookSubscriptionModel,
    StatusUpdateModel,
    StockUpdateModel,
)
from connector.sandbox.delivery import WebhookSender
from connector.sandbox.faults import FaultPlan, Handler, add_fault_control, fault_middleware
from connector.sandbox.fixtures import CATALOGUE, build_order, new_uid
from connector.sandbox.ratelimit import SlidingWindowLimit
from connector.sandbox.recording import RequestLog

BASE_PATH = "/v1/external_pharmacy_api"
EVENT_TYPES = ("pharmacy_order_created", "pharmacy_order_updated", "pharmacy_sku_stock_updated")

# Moves a pharmacy may make through `PATCH …/status`, as CONTRACT.md reads the docs.
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


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class RxScaleSandbox:
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

    # --- the HTTP application --------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[
                self.requests.middleware(),
                fault_middleware(self.faults, _error),
                self._authenticate,
                self._limit,
            ]
        )
        api = web.RouteTableDef()
        api.get(f"{BASE_PATH}/health/")(self._health)
        api.get(f"{BASE_PATH}/pharmacy_orders/")(self._list_orders)
        api.get(f"{BASE_PATH}/pharmacy_orders/{{uid}}")(self._get_order)
        api.patch(f"{BASE_PATH}/pharmacy_orders/{{uid}}/status")(self._set_status)
        api.patch(f"{BASE_PATH}/pharmacy_orders/{{uid}}/complete_order")(self._complete)
        api.get(f"{BASE_PATH}/pharmacy_skus/")(self._list_skus)
        api.patch(f"{BASE_PATH}/pharmacy_skus/{{uid}}/stock")(self._set_stock)
        api.get(f"{BASE_PATH}/webhooks/")(self._list_webhooks)
        api.post(f"{BASE_PATH}/webhooks/")(self._create_webhook)
        api.delete(f"{BASE_PATH}/webhooks/{{uid}}")(self._delete_webhook)
        api.post("/_sandbox/orders")(self._control_create_orders)
        api.get("/_sandbox/orders")(self._control_list_orders)
        api.get("/_sandbox/orders/{uid}")(self._control_get_order)
        api.post("/_sandbox/orders/{uid}/cancel")(self._control_cancel)
        app.add_routes(api)
        add_fault_control(app, self.faults, _error)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _cleanup(self, _app: web.Application) -> None:
        await self.sender.close()

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        offered = request.headers.get("X-API-Key")
        if offered is None:
            return web.json_response(
                {"code": "api_key_missing", "description": "X-API-Key header is missing"},
                status=401,
            )
        if not hmac.compare_digest(offered.encode(), self.api_key.encode()):
            return web.json_response(
                {"code": "invalid_api_key", "description": "API key not found or inactive"},
                status=401,
            )
        return await handler(request)

    @web.middleware
    async def _limit(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if (
            self.rate_limit is not None
            and not request.path.startswith("/_sandbox/")
            and not self.rate_limit.allow()
        ):
            return _error(429, "Rate limit exceeded")
        return await handler(request)

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    def _find(self, request: web.Request) -> SandboxOrder:
        order = self.orders.get(request.match_info["uid"])
        if order is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "Resource not found"}), content_type="application/json"
            )
        return order

    async def _list_orders(self, request: web.Request) -> web.Response:
        status = request.query.get("status")
        try:
            page = int(request.query.get("page", "0"))
            limit = min(int(request.query.get("limit", "50")), 200)
        except ValueError:
            return _error(400, "page and limit must be integers")
        if page < 0 or limit < 1:
            return _error(400, "page must be >= 0 and limit >= 1")
        matching = [o.document for o in self.orders.values() if status in (None, o.status)]
        pages = (len(matching) + limit - 1) // limit
        return web.json_response(
            {
                "data": matching[page * limit : (page + 1) * limit],
                "totalRegistries": len(matching),
                "totalPages": pages,
            }
        )

    async def _get_order(self, request: web.Request) -> web.Response:
        return web.json_response(self._find(request).document)

    async def _body(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "Bad request"}), content_type="application/json"
            ) from None

    async def _set_status(self, request: web.Request) -> web.Response:
        order = self._find(request)
        try:
            update = StatusUpdateModel.model_validate(await self._body(request))
        except ValidationError:
            return _error(400, "Missing required parameters: status")
        if update.status == "completed":
            return _error(422, "use complete_order to complete an order")
        if update.status not in ALLOWED_STATUS_CHANGES:
            return _error(400, f"unknown status {update.status!r}")
        if update.status == order.status:
            return web.json_response({"uid": order.uid, "status": order.status})
        if update.status == "on-hold" and not (update.comment and update.comment.strip()):
            return _error(400, "comment is required when moving an order to on-hold")
        if update.status not in ALLOWED_STATUS_CHANGES[order.status]:
            return _error(409, f"cannot change status from {order.status!r} to {update.status!r}")
        order.set_status(update.status, update.comment)
        return web.json_response({"uid": order.uid, "status": order.status})

    async def _complete(self, request: web.Request) -> web.Response:
        order = self._find(request)
        try:
            body = CompleteOrderModel.model_validate(await self._body(request))
        except ValidationError:
            return _error(400, "Bad request")
        if order.status not in COMPLETABLE:
            return _error(409, f"cannot complete an order in status {order.status!r}")
        order.completion = body.model_dump()
        order.set_status("completed")
        return web.json_response({"uid": order.uid, "status": order.status})

    async def _list_skus(self, _request: web.Request) -> web.Response:
        data = list(self.skus.values())
        return web.json_response({"data": data, "totalRegistries": len(data), "totalPages": 1})

    async def _set_stock(self, request: web.Request) -> web.Response:
        sku = self.skus.get(request.match_info["uid"])
        if sku is None:
            return _error(404, "Resource not found")
        try:
            update = StockUpdateModel.model_validate(await self._body(request))
        except ValidationError:
            return _error(400, "stock must be a non-negative integer")
        changed = sku["stock"] != update.stock
        sku["stock"] = update.stock
        self.stock_updates.append((sku["uid"], update.stock))
        if changed and self.announce_own_stock_changes:
            self.emit("pharmacy_sku_stock_updated", sku)
        return web.json_response(sku)

    async def _list_webhooks(self, _request: web.Request) -> web.Response:
        return web.json_response([s.public() for s in self.subscriptions.values()])

    async def _create_webhook(self, request: web.Request) -> web.Response:
        try:
            body = NewWebhookSubscriptionModel.model_validate(await self._body(request))
        except ValidationError:
            return _error(400, "Missing required parameters: target, notification_type")
        if body.notification_type not in EVENT_TYPES:
            return _error(422, f"unknown notification_type {body.notification_type!r}")
        subscription = self.subscribe(body.target, body.notification_type)
        return web.json_response(
            {**subscription.public(), "signing_secret": subscription.signing_secret}, status=201
        )

    async def _delete_webhook(self, request: web.Request) -> web.Response:
        if self.subscriptions.pop(request.match_info["uid"], None) is None:
            return _error(404, "Resource not found")
        return web.Response(status=204)

    # --- control ----------------------------------------------------------------------------

    async def _control_create_orders(self, request: web.Request) -> web.Response:
        document = await request.json() if request.can_read_body else {}
        count = int(document.get("count", 1))
        uids = [self.add_order() for _ in range(count)]
        return web.json_response({"uids": uids}, status=201)

    async def _control_list_orders(self, _request: web.Request) -> web.Response:
        return web.json_response([o.summary() for o in self.orders.values()])

    async def _control_get_order(self, request: web.Request) -> web.Response:
        return web.json_response(self._find(request).summary())

    async def _control_cancel(self, request: web.Request) -> web.Response:
        order = self._find(request)
        self.cancel_order(order.uid)
        return web.json_response(order.summary())
