"""Authenticating Empower's webhook deliveries and reading them into domain values."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Collection, Sequence
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
    is_code,
)
from connector.partner.wire import load_json_object, validate_delivery


class CallbackType(StrEnum):
    SHIPMENT = "SHIPMENT"
    ORDER = "ORDER"
    NOTIFY_RX = "NOTIFY_RX"


class AuthForm(StrEnum):
    """Where in the Authorization header Empower may put its key. Its introduction says
    only "a key in the Authorization header, basic authentication"."""

    BEARER = "bearer"  # Authorization: Bearer <key>
    # Basic base64(<anything>:<key>); the name of a form, not a password
    BASIC_PASSWORD = "basic_password"  # noqa: S105
    BASIC_USERNAME = "basic_username"  # Basic base64(<key>:<anything>)


ALL_AUTH_FORMS = frozenset(AuthForm)
MAX_AUTHORIZATION_LENGTH = 1024


def authorized_form(
    header: str | None, keys: Sequence[str], forms: Collection[AuthForm] = ALL_AUTH_FORMS
) -> AuthForm | None:
    """The form in which the header carries one of `keys`, or None.

    Any header at all is answered with a form or None, never an exception: the header is
    the one part of a request a stranger controls before anything is authenticated. Every
    key is compared against every offered form in constant time.
    """
    if not header or not keys or len(header) > MAX_AUTHORIZATION_LENGTH:
        return None
    offers = _offers(header, forms)
    expected = [key.encode("utf-8") for key in keys]
    found: AuthForm | None = None
    for form, offered in offers:
        matched = False
        for key in expected:
            matched |= hmac.compare_digest(key, offered)
        if matched and found is None:
            found = form
    return found


def _offers(header: str, forms: Collection[AuthForm]) -> list[tuple[AuthForm, bytes]]:
    """What the header offers as the key, in each accepted form."""
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    try:
        raw = credentials.encode("ascii")
    except UnicodeEncodeError:
        return []  # neither a token nor base64 is anything but ASCII
    if scheme.lower() == "bearer":
        return [(AuthForm.BEARER, raw)] if AuthForm.BEARER in forms else []
    if scheme.lower() != "basic":
        return []
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return []
    user, separator, password = decoded.partition(b":")
    if not separator:
        return []
    offers = []
    if AuthForm.BASIC_PASSWORD in forms:
        offers.append((AuthForm.BASIC_PASSWORD, password))
    if AuthForm.BASIC_USERNAME in forms:
        offers.append((AuthForm.BASIC_USERNAME, user))
    return offers


def is_authorized(
    header: str | None, keys: Sequence[str], forms: Collection[AuthForm] = ALL_AUTH_FORMS
) -> bool:
    return authorized_form(header, keys, forms) is not None


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
        )
    if callback_type == CallbackType.ORDER:
        event = validate_delivery(RequestEventModel, document)
        order = validate_delivery(OrderDetailsModel, event.details, where="details")
        return OrderNews(
            request_id=event.request_id,
            succeeded=event.status.lower() != "error",
            status=order.status.upper() if order.status else None,
            code=order.code if order.code and is_code(order.code) else None,
        )
    return UnknownNews(callback_type[:64])
