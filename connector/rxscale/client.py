"""RxScale External Pharmacy API client: speaks RxScale's JSON, returns domain objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from connector.domain.empower import Tracking
from connector.domain.errors import Partner
from connector.domain.lifecycle import RxScaleStatus
from connector.domain.order import OrderPage, PharmacyOrder
from connector.domain.stock import PharmacySku
from connector.partner.errors import error_for_reply
from connector.partner.http import HttpReply, Limiter, PartnerHttp, RequestObserver, path_segment
from connector.partner.wire import read_response
from connector.rxscale.models import (
    CompleteOrderModel,
    ErrorModel,
    NewWebhookSubscriptionModel,
    PageModel,
    PharmacyOrderModel,
    PharmacySkuModel,
    StatusUpdateModel,
    StockUpdateModel,
    WebhookSubscriptionModel,
)

MAX_PAGE_SIZE = 200

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class SkuPage:
    skus: tuple[PharmacySku, ...]
    total: int
    pages: int


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    uid: str
    target: str
    notification_type: str
    signing_secret: str | None = None


class RxScaleClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        pharmacy_uid: str | None = None,
        timeout_seconds: float = 10.0,
        limiter: Limiter | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self._http = PartnerHttp(
            Partner.RXSCALE,
            base_url,
            headers={"X-API-Key": api_key},
            timeout_seconds=timeout_seconds,
            limiter=limiter,
            observer=observer,
        )
        self._pharmacy_uid = pharmacy_uid

    async def close(self) -> None:
        await self._http.close()

    async def health(self) -> None:
        await self._call("health", "GET", "/health/")

    async def get_order(self, uid: str) -> PharmacyOrder:
        reply = await self._call("get_order", "GET", f"/pharmacy_orders/{path_segment(uid)}")
        return self._parse("get_order", reply, PharmacyOrderModel).to_domain()

    async def list_orders(
        self, *, status: str | None = None, page: int = 0, limit: int = MAX_PAGE_SIZE
    ) -> OrderPage:
        filters = {"status": status} if status is not None else {}
        parsed = await self._page(
            "list_orders", "/pharmacy_orders/", PharmacyOrderModel, page, limit, filters
        )
        return OrderPage(
            orders=tuple(order.to_domain() for order in parsed.data),
            total=parsed.totalRegistries,
            pages=parsed.totalPages,
        )

    async def set_status(self, uid: str, status: RxScaleStatus, comment: str | None = None) -> None:
        if status is RxScaleStatus.COMPLETED:
            raise ValueError("`completed` is reached through complete_order, never set")
        if status is RxScaleStatus.ON_HOLD and not (comment and comment.strip()):
            raise ValueError("RxScale requires a non-blank comment for on-hold")
        body = StatusUpdateModel.from_domain(status, comment)
        await self._call(
            "set_status",
            "PATCH",
            f"/pharmacy_orders/{path_segment(uid)}/status",
            json_body=body.model_dump(exclude_none=True),
        )

    async def complete_order(self, uid: str, tracking: Tracking) -> None:
        await self._call(
            "complete_order",
            "PATCH",
            f"/pharmacy_orders/{path_segment(uid)}/complete_order",
            json_body=CompleteOrderModel.from_domain(tracking).model_dump(exclude_none=True),
        )

    async def list_skus(self, *, page: int = 0, limit: int = MAX_PAGE_SIZE) -> SkuPage:
        parsed = await self._page("list_skus", "/pharmacy_skus/", PharmacySkuModel, page, limit)
        return SkuPage(
            skus=tuple(sku.to_domain() for sku in parsed.data),
            total=parsed.totalRegistries,
            pages=parsed.totalPages,
        )

    async def set_stock(self, sku_uid: str, stock: int) -> None:
        await self._call(
            "set_stock",
            "PATCH",
            f"/pharmacy_skus/{path_segment(sku_uid)}/stock",
            json_body=StockUpdateModel(stock=stock).model_dump(),
        )

    async def list_webhooks(self) -> list[WebhookSubscription]:
        reply = await self._call("list_webhooks", "GET", "/webhooks/")
        document = reply.json()
        items = document.get("data", []) if isinstance(document, dict) else document
        return [
            _subscription(
                read_response(Partner.RXSCALE, "list_webhooks", item, WebhookSubscriptionModel)
            )
            for item in items or []
        ]

    async def create_webhook(self, target: str, notification_type: str) -> WebhookSubscription:
        body = NewWebhookSubscriptionModel(target=target, notification_type=notification_type)
        reply = await self._call(
            "create_webhook", "POST", "/webhooks/", json_body=body.model_dump()
        )
        return _subscription(self._parse("create_webhook", reply, WebhookSubscriptionModel))

    async def delete_webhook(self, uid: str) -> None:
        await self._call("delete_webhook", "DELETE", f"/webhooks/{path_segment(uid)}")

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> HttpReply:
        query = dict(params or {})
        if self._pharmacy_uid:
            query["pharmacy_uid"] = self._pharmacy_uid
        reply = await self._http.request(
            operation, method, path, params=query or None, json_body=json_body
        )
        if 200 <= reply.status < 300:
            return reply
        raise error_for_reply(Partner.RXSCALE, operation, reply, _error_message(reply))

    async def _page(
        self,
        operation: str,
        path: str,
        item: type[M],
        page: int,
        limit: int,
        filters: Mapping[str, str] | None = None,
    ) -> PageModel[M]:
        """One page of a list: RxScale counts pages from 0 and serves at most 200 a page."""
        params = {"page": str(page), "limit": str(min(limit, MAX_PAGE_SIZE)), **(filters or {})}
        reply = await self._call(operation, "GET", path, params=params)
        return self._parse(operation, reply, PageModel[item])  # type: ignore[valid-type]

    @staticmethod
    def _parse(operation: str, reply: HttpReply, model: type[M]) -> M:
        return read_response(Partner.RXSCALE, operation, reply.json(), model)


def _error_message(reply: HttpReply) -> str:
    document = reply.json()
    if isinstance(document, dict):
        try:
            return ErrorModel.model_validate(document).message()
        except ValidationError:
            pass
    return f"HTTP {reply.status}"


def _subscription(model: WebhookSubscriptionModel) -> WebhookSubscription:
    return WebhookSubscription(
        uid=model.uid,
        target=model.target,
        notification_type=model.notification_type,
        signing_secret=model.signing_secret,
    )
