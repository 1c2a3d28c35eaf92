"""Authenticating and reading Empower deliveries (connector.empower.webhook)."""

from __future__ import annotations

import base64
import json

import pytest

from connector.domain.errors import MalformedDelivery
from connector.domain.news import OrderNews, PrescriptionNews, ShipmentNews, UnknownNews
from connector.empower.webhook import AuthForm, authorized_form, is_authorized, parse_event
from connector.store.news_codec import news_to_payload


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


KEYS = ["key-1", "key-2"]


@pytest.mark.parametrize(
    ("header", "form"),
    [
        ("Bearer key-2", AuthForm.BEARER),
        ("bearer key-1", AuthForm.BEARER),
        (basic("empower", "key-1"), AuthForm.BASIC_PASSWORD),
        (basic("", "key-2"), AuthForm.BASIC_PASSWORD),
        (basic("key-1", ""), AuthForm.BASIC_USERNAME),
        (basic("key-1", "anything"), AuthForm.BASIC_USERNAME),
        (basic("wrong", "wrong"), None),
        ("Bearer wrong", None),
        ("Basic !!!notbase64", None),
        ("Basic " + base64.b64encode(b"no-colon").decode(), None),
        ("Token key-1", None),
        ("", None),
        (None, None),
    ],
)
def test_empower_authorization_names_the_form_that_matched(
    header: str | None, form: AuthForm | None
) -> None:
    assert authorized_form(header, KEYS) is form
    assert is_authorized(header, KEYS) is (form is not None)


def test_only_the_configured_forms_are_accepted() -> None:
    only_bearer = {AuthForm.BEARER}
    assert is_authorized("Bearer key-1", KEYS, only_bearer)
    assert not is_authorized(basic("x", "key-1"), KEYS, only_bearer)
    assert not is_authorized(basic("key-1", "x"), KEYS, {AuthForm.BASIC_PASSWORD})
    assert not is_authorized("Bearer key-1", KEYS, {AuthForm.BASIC_USERNAME})


@pytest.mark.parametrize(
    "header",
    [
        "Basic \u00e9",  # a non-ASCII character where base64 belongs
        "Bearer \udcff",  # a byte aiohttp could not decode, kept as a surrogate
        "Basic \udcff\udcfe",
        "Bearer " + "k" * 5000,
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),  # not UTF-8 inside
        "Basic ====",
        "Bearer",
        " ",
    ],
)
def test_a_hostile_authorization_header_is_refused_without_an_error(header: str) -> None:
    assert authorized_form(header, KEYS) is None


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
    assert news == OrderNews("fill_request_1", succeeded=False, status=None, code="R2")


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


CANARY = "Quirinus Zwetschke"


def test_free_text_of_order_news_is_never_kept() -> None:
    event = {
        "request_id": "fill_request_7",
        "callback_type": "ORDER",
        "status": "error",
        "details": {"code": "ADDR_MISSING", "message": f"no address for {CANARY}"},
    }
    news = parse_event(json.dumps(event).encode())
    assert isinstance(news, OrderNews)
    assert news.code == "ADDR_MISSING"
    assert CANARY not in repr(news)
    assert CANARY not in json.dumps(news_to_payload(news))


def test_a_code_that_is_really_a_sentence_is_dropped() -> None:
    event = {
        "request_id": "fill_request_7",
        "callback_type": "ORDER",
        "status": "error",
        "details": {"code": f"patient {CANARY} unknown"},
    }
    news = parse_event(json.dumps(event).encode())
    assert isinstance(news, OrderNews)
    assert news.code is None


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://tools.usps.com/go/TrackConfirmAction?tLabels=1Z", True),
        ("javascript:alert(document.cookie)", False),
        ("http://tracking.example.com/1Z", False),
        ("https:///no-host", False),
        ("data:text/html,<script>", False),
        ("https://example.com/" + "a" * 3000, False),
    ],
)
def test_only_https_tracking_urls_are_kept(url: str, kept: bool) -> None:
    event = {
        "request_id": "fill_request_8",
        "callback_type": "SHIPMENT",
        "status": "success",
        "details": {
            "status": "SHIPPED",
            "tracking_number": "1Z999",
            "carrier": "ups",
            "tracking_url": url,
            "message": f"shipped to {CANARY}",
        },
    }
    news = parse_event(json.dumps(event).encode())
    assert isinstance(news, ShipmentNews)
    assert news.tracking is not None
    assert (news.tracking.tracking_url == url) is kept
    assert news.tracking.carrier == "ups"
    assert CANARY not in repr(news)
