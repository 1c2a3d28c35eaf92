"""Empower news as job payloads and history details: ids, statuses and tracking, never
patient data. Written by the receive side, read back by the work side."""

from __future__ import annotations

from typing import Any, assert_never

from connector.domain.empower import Tracking
from connector.domain.jobs import JsonObject
from connector.domain.news import EmpowerNews, OrderNews, PrescriptionNews, ShipmentNews


def news_to_payload(news: EmpowerNews) -> JsonObject:
    """The job payload for one piece of news: ids, statuses and tracking, never patient data."""
    match news:
        case ShipmentNews():
            return {
                "type": "shipment",
                "request_id": news.request_id,
                "status": news.status,
                "tracking_number": news.tracking.tracking_number if news.tracking else None,
                "carrier": news.tracking.carrier if news.tracking else None,
                "tracking_url": news.tracking.tracking_url if news.tracking else None,
            }
        case OrderNews():
            return {
                "type": "order",
                "request_id": news.request_id,
                "succeeded": news.succeeded,
                "status": news.status,
                "code": news.code,
            }
        case PrescriptionNews():
            return {
                "type": "prescription",
                "prescription_token": news.prescription_token,
                "patient_token": news.patient_token,
            }
        case _:
            assert_never(news)


def news_from_payload(payload: JsonObject) -> EmpowerNews:
    kind = payload.get("type")
    if kind == "shipment":
        number = _opt_str(payload.get("tracking_number"))
        tracking = (
            Tracking(
                tracking_number=number,
                carrier=_opt_str(payload.get("carrier")),
                tracking_url=_opt_str(payload.get("tracking_url")),
            )
            if number
            else None
        )
        return ShipmentNews(
            request_id=str(payload["request_id"]),
            status=str(payload["status"]),
            tracking=tracking,
        )
    if kind == "order":
        return OrderNews(
            request_id=str(payload["request_id"]),
            succeeded=bool(payload["succeeded"]),
            status=_opt_str(payload.get("status")),
            code=_opt_str(payload.get("code")),
        )
    if kind == "prescription":
        return PrescriptionNews(
            prescription_token=str(payload["prescription_token"]),
            patient_token=_opt_str(payload.get("patient_token")),
        )
    raise ValueError(f"unknown news type {kind!r}")


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
