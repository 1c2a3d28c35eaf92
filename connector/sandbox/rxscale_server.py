"""A simulated RxScale External Pharmacy API, as docs/partners.md describes it.

Serves orders with invented patient data, enforces RxScale's status rules as the contract
assumes them, checks request bodies against the contract's field rules, signs its
webhooks, and answers control requests under `/_sandbox/`.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web

from connector.sandbox import contract
from connector.sandbox.faults import Handler, add_fault_control, fault_middleware
from connector.sandbox.rxscale_state import (
    ALLOWED_STATUS_CHANGES,
    BASE_PATH,
    COMPLETABLE,
    EVENT_TYPES,
    RxScalePlatform,
    SandboxOrder,
)

__all__ = ["BASE_PATH", "EVENT_TYPES", "RxScaleSandbox"]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class RxScaleSandbox(RxScalePlatform):
    """The HTTP API over the simulated platform, with control endpoints under /_sandbox/."""

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

    async def _body(self, request: web.Request, rule: contract.Rule) -> dict[str, Any]:
        """The JSON body, checked against the contract's rule; 400 naming what is wrong."""
        try:
            document = await request.json()
            contract.check(rule, document)
        except ValueError as exc:  # not JSON, or a contract.Violation
            message = str(exc) if isinstance(exc, contract.Violation) else "Bad request"
            raise web.HTTPBadRequest(
                text=json.dumps({"error": message}), content_type="application/json"
            ) from None
        return dict(document)

    async def _set_status(self, request: web.Request) -> web.Response:
        order = self._find(request)
        update = await self._body(request, contract.RXSCALE_STATUS_UPDATE)
        status, comment = str(update["status"]), update.get("comment")
        if status == "completed":
            return _error(422, "use complete_order to complete an order")
        if status not in ALLOWED_STATUS_CHANGES:
            return _error(400, f"unknown status {status!r}")
        if status == order.status:
            return web.json_response({"uid": order.uid, "status": order.status})
        if status == "on-hold" and not (comment and comment.strip()):
            return _error(400, "comment is required when moving an order to on-hold")
        if status not in ALLOWED_STATUS_CHANGES[order.status]:
            return _error(409, f"cannot change status from {order.status!r} to {status!r}")
        order.set_status(status, comment)
        return web.json_response({"uid": order.uid, "status": order.status})

    async def _complete(self, request: web.Request) -> web.Response:
        order = self._find(request)
        body = await self._body(request, contract.RXSCALE_COMPLETION)
        order.completion_calls += 1
        if order.status not in COMPLETABLE:
            return _error(409, f"cannot complete an order in status {order.status!r}")
        order.completion = {
            name: body.get(name) for name in ("tracking_number", "tracking_url", "carrier")
        }
        order.set_status("completed")
        return web.json_response({"uid": order.uid, "status": order.status})

    async def _list_skus(self, _request: web.Request) -> web.Response:
        data = list(self.skus.values())
        return web.json_response({"data": data, "totalRegistries": len(data), "totalPages": 1})

    async def _set_stock(self, request: web.Request) -> web.Response:
        sku = self.skus.get(request.match_info["uid"])
        if sku is None:
            return _error(404, "Resource not found")
        stock = int((await self._body(request, contract.RXSCALE_STOCK_UPDATE))["stock"])
        changed = sku["stock"] != stock
        sku["stock"] = stock
        self.stock_updates.append((sku["uid"], stock))
        if changed and self.announce_own_stock_changes:
            self.emit("pharmacy_sku_stock_updated", sku)
        return web.json_response(sku)

    async def _list_webhooks(self, _request: web.Request) -> web.Response:
        return web.json_response([s.public() for s in self.subscriptions.values()])

    async def _create_webhook(self, request: web.Request) -> web.Response:
        body = await self._body(request, contract.RXSCALE_NEW_SUBSCRIPTION)
        target, notification_type = str(body["target"]), str(body["notification_type"])
        if notification_type not in EVENT_TYPES:
            return _error(422, f"unknown notification_type {notification_type!r}")
        subscription = self.subscribe(target, notification_type)
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
