"""Authenticating and reading Empower deliveries (connector.empower.webhook)."""

from __future__ import annotations

import base64
import json

import pytest

from connector.domain.errors import MalformedDelivery
from connector.domain.news import OrderNews, PrescriptionNews, ShipmentNews, UnknownNews
from connector.empower.webhook import is_authorized, parse_event


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("Bearer key-2", True),
        ("bearer key-1", True),
        (basic("empower", "key-1"), True),
        (basic("", "key-2"), True),
        (basic("key-1", "wrong"), False),
        ("Bearer wrong", False),
        ("Basic !!!notbase64", False),
        ("Basic " + base64.b64encode(b"no-colon").decode(), False),
        ("Token key-1", False),
        ("", False),
        (None, False),
    ],
)
def test_empower_authorization(header: str | None, ok: bool) -> None:
    assert is_authorized(header, ["key-1", "key-2"]) is ok


def test_empower_shipment_event_from_the_introduction() -> None:
    event = {
        "request_id": "fill_request_991e90fa6b367cf72032",
        "timestamp": 1590800222,
        "callback_type": "SHIPMENT",
        "status": "success",
        "details": {
            "status": "DELIVERED",
            "message": "Your shipment has been delivered.",
            "tracking_number": "43904456187100000000000000",
            "carrier": "usps",
        },
    }
    news = parse_event(json.dumps(event).encode())
    assert isinstance(news, ShipmentNews)
    assert news.request_id == "fill_request_991e90fa6b367cf72032"
    assert news.status == "DELIVERED"
    assert news.tracking is not None
    assert news.tracking.carrier == "usps"


def test_empower_notify_event_keeps_tokens_only() -> None:
    event = {
        "timestamp": 1581019462,
        "callback_type": "NOTIFY_RX",
        "details": {
            "medication_name": "Semaglutide 2.5 mg/mL injection",
            "prescriber": "Dr. Jane Smith",
            "prescription_token": "rx_z3q2jr",
            "patient_token": "pt_4526d90a",
        },
    }
    news = parse_event(json.dumps(event).encode())
    assert news == PrescriptionNews("rx_z3q2jr", "pt_4526d90a")


def test_empower_order_error_event() -> None:
    event = {
        "request_id": "fill_request_1",
        "callback_type": "ORDER",
        "status": "error",
        "details": {"code": "R2", "message": "bad address"},
    }
    news = parse_event(json.dumps(event).encode())
    assert news == OrderNews(
        "fill_request_1", succeeded=False, status=None, code="R2", message="bad address"
    )


def test_unknown_callback_type_is_recognised_not_rejected() -> None:
    assert parse_event(b'{"callback_type": "TRANSFER", "x": 1}') == UnknownNews("TRANSFER")


@pytest.mark.parametrize(
    "body",
    [
        b'{"callback_type": "SHIPMENT", "details": {"status": "SHIPPED"}}',
        b'{"callback_type": "SHIPMENT", "request_id": "r", "details": {}}',
        b'{"callback_type": "NOTIFY_RX", "details": {"patient_token": "p"}}',
        b'{"request_id": "r"}',
        b"nope",
    ],
)
def test_empower_events_missing_identity_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedDelivery):
        parse_event(body)
