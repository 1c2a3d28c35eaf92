"""Verifying and reading RxScale deliveries (connector.rxscale.webhook)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from connector.domain.errors import MalformedDelivery
from connector.rxscale.webhook import parse_delivery, verify_signature

BODY = json.dumps(
    {"event_type": "pharmacy_order_created", "timestamp": 1711900000, "data": {"uid": "po-1"}}
).encode()


def reference_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_signature_from_any_configured_secret_verifies() -> None:
    signature = reference_signature(BODY, "whsec_new")
    assert verify_signature(BODY, signature, ["whsec_old", "whsec_new"])
    assert verify_signature(BODY, signature.upper(), ["whsec_new"])


@pytest.mark.parametrize(
    "signature",
    [None, "", "00" * 32, "not hex at all ✓", reference_signature(BODY, "whsec_other")],
)
def test_wrong_or_missing_signature_fails(signature: str | None) -> None:
    assert not verify_signature(BODY, signature, ["whsec_new"])


def test_signature_covers_the_raw_bytes() -> None:
    signature = reference_signature(BODY, "s")
    assert not verify_signature(BODY + b" ", signature, ["s"])


def test_rxscale_delivery_identity_and_dedupe_key() -> None:
    delivery = parse_delivery(BODY)
    assert (delivery.event_type, delivery.timestamp, delivery.subject_uid) == (
        "pharmacy_order_created",
        1711900000,
        "po-1",
    )
    updated = json.dumps(
        {
            "event_type": "pharmacy_order_updated",
            "timestamp": 5,
            "data": {"uid": "po-1", "status": "cancelled"},
        }
    ).encode()
    assert parse_delivery(updated).dedupe_parts() == (
        "pharmacy_order_updated",
        "5",
        "po-1",
        "cancelled",
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"timestamp": 1, "data": {"uid": "x"}}', "event_type"),
        (b'{"event_type": "e", "timestamp": "soon", "data": {"uid": "x"}}', "timestamp"),
        (b'{"event_type": "e", "timestamp": 1, "data": {}}', "data.uid"),
        (b'{"event_type": "e", "timestamp": 1}', "data"),
    ],
)
def test_malformed_rxscale_bodies_name_the_problem(body: bytes, problem: str) -> None:
    with pytest.raises(MalformedDelivery, match=problem):
        parse_delivery(body)


def test_malformed_errors_never_echo_the_body() -> None:
    body = json.dumps({"event_type": 42, "timestamp": "Jane Doe", "data": {"uid": "x"}}).encode()
    with pytest.raises(MalformedDelivery) as caught:
        parse_delivery(body)
    assert "Jane" not in str(caught.value)
