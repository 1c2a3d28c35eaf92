"""Authenticating Empower's webhook deliveries and reading them into domain values."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from enum import StrEnum

from connector.domain.errors import MalformedDelivery
from connector.domain.news import (
    EmpowerNews,
    OrderNews,
    PrescriptionNews,
    ShipmentNews,
    UnknownNews,
)
from connector.empower.models import (
    NotifyRxEventModel,
    OrderDetailsModel,
    RequestEventModel,
    ShipmentDetailsModel,
)
from connector.partner.wire import load_json_object, validate_delivery


class CallbackType(StrEnum):
    SHIPMENT = "SHIPMENT"
    ORDER = "ORDER"
    NOTIFY_RX = "NOTIFY_RX"


def is_authorized(header: str | None, keys: Sequence[str]) -> bool:
    """`Bearer <key>`, or Basic credentials whose password is a key; constant time."""
    if not header or not keys:
        return False
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        offered = credentials
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        _, separator, offered = decoded.partition(":")
        if not separator:
            return False
    else:
        return False
    offered_bytes = offered.encode("utf-8")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(key.encode("utf-8"), offered_bytes)
    return matched


def parse_event(body: bytes) -> EmpowerNews | UnknownNews:
    document = load_json_object(body)
    callback_type = document.get("callback_type")
    if not isinstance(callback_type, str) or not callback_type:
        raise MalformedDelivery("callback_type is missing")
    if callback_type == CallbackType.NOTIFY_RX:
        notify = validate_delivery(NotifyRxEventModel, document)
        return PrescriptionNews(
            prescription_token=notify.details.prescription_token,
            patient_token=notify.details.patient_token,
        )
    if callback_type == CallbackType.SHIPMENT:
        event = validate_delivery(RequestEventModel, document)
        shipment = validate_delivery(ShipmentDetailsModel, event.details, where="details")
        return ShipmentNews(
            request_id=event.request_id,
            status=shipment.status.upper(),
            tracking=shipment.tracking(),
            message=shipment.message,
        )
    if callback_type == CallbackType.ORDER:
        event = validate_delivery(RequestEventModel, document)
        order = validate_delivery(OrderDetailsModel, event.details, where="details")
        return OrderNews(
            request_id=event.request_id,
            succeeded=event.status.lower() != "error",
            status=order.status.upper() if order.status else None,
            code=order.code,
            message=order.message,
        )
    return UnknownNews(callback_type[:64])
