"""Verifying RxScale's webhook deliveries and reading them into domain values."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from connector.domain.errors import MalformedDelivery
from connector.domain.rxscale import RxScaleNews
from connector.partner.wire import load_json_object, validate_delivery
from connector.rxscale.models import WebhookEnvelopeModel


def sign(body: bytes, secret: str) -> str:
    """The signature RxScale sends: lowercase hex HMAC-SHA256 of the raw body."""
    return hmac.digest(secret.encode("utf-8"), body, "sha256").hex()


def verify_signature(body: bytes, signature: str | None, secrets: Sequence[str]) -> bool:
    """True when any configured secret produced `signature`, compared in constant time.

    Every secret is tried even after a match, so the time taken does not tell which one
    (or whether an earlier one) matched.
    """
    if not signature or not secrets:
        return False
    offered = signature.strip().lower().encode("utf-8", "replace")
    matched = False
    for secret in secrets:
        expected = sign(body, secret).encode("ascii")
        matched |= hmac.compare_digest(expected, offered)
    return matched


def parse_delivery(body: bytes) -> RxScaleNews:
    document = load_json_object(body)
    envelope = validate_delivery(WebhookEnvelopeModel, document)
    uid = envelope.data.get("uid")
    if not isinstance(uid, str) or not uid or len(uid) > 255:
        raise MalformedDelivery("data.uid is missing or not a string of 1 to 255 characters")
    status = envelope.data.get("status")
    return RxScaleNews(
        event_type=envelope.event_type,
        timestamp=envelope.timestamp,
        subject_uid=uid,
        status=status if isinstance(status, str) else None,
    )
