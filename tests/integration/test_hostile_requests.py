"""Requests an attacker would send, over real HTTP against a real database: each is refused
with a clear 4xx and leaves nothing behind."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from ipaddress import ip_network

import pytest

from connector.empower.webhook import AuthForm
from connector.store.database import Database
from tests.integration.test_receivers import Receiver, created, serve

SHIPMENT = {
    "request_id": "fill_request_1",
    "callback_type": "SHIPMENT",
    "status": "success",
    "details": {"status": "SHIPPED", "tracking_number": "1Z999", "carrier": "ups"},
}


@pytest.fixture
async def receiver(database: Database) -> AsyncIterator[Receiver]:
    served = await serve(database)
    try:
        yield served
    finally:
        await served.client.close()


def signed(body: bytes, secret: str = "whsec_current") -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 1000 + b"]" * 1000,  # parser recursion
        b'{"a":' * 1000 + b"1" + b"}" * 1000,
        json.dumps(created(uid="\ud800")).encode(),  # a lone surrogate, escaped
        json.dumps({**created(), "event_type": "\udfff"}).encode(),
        b'{"event_type": "pharmacy_order_created", "timestamp": ' + b"9" * 5000 + b"}",
    ],
)
async def test_authentic_but_strange_rxscale_bodies_are_400(receiver: Receiver, raw: bytes) -> None:
    response = await receiver.rxscale(None, raw=raw)
    assert response.status == 400
    assert "error" in await response.json()
    assert await receiver.stored() == (0, 0, 0)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 1000 + b"]" * 1000,
        json.dumps({**SHIPMENT, "callback_type": "\ud800"}).encode(),
        json.dumps({**SHIPMENT, "request_id": "\udc80"}).encode(),
    ],
)
async def test_authentic_but_strange_empower_bodies_are_400(receiver: Receiver, raw: bytes) -> None:
    response = await receiver.empower(None, raw=raw)
    assert response.status == 400
    assert await receiver.stored() == (0, 0, 0)


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic \u00e9",
        "Bearer \u00ff",
        "Basic " + base64.b64encode(b"\xff:\xfe").decode(),
        "Bearer empower-key-2",
        None,
    ],
)
async def test_every_refused_key_gets_the_same_401(
    receiver: Receiver, authorization: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = await receiver.client.post(
        "/webhooks/empower", data=json.dumps(SHIPMENT).encode(), headers=headers
    )
    assert response.status == 401
    assert await response.json() == {"error": "unauthorized"}
    assert await receiver.stored() == (0, 0, 0)


@pytest.mark.parametrize("secret", [None, "whsec_stranger"])
async def test_rxscale_refusals_read_the_same(receiver: Receiver, secret: str | None) -> None:
    response = await receiver.rxscale(created(), secret=secret)
    assert await response.json() == {"error": "unauthorized"}


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        {"Content-Type": "application/json", "Content-Encoding": "deflate"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
    ],
)
async def test_encoded_or_non_json_bodies_are_415(
    receiver: Receiver, headers: dict[str, str]
) -> None:
    body = b"\x1f\x8b not really gzip"
    response = await receiver.client.post(
        "/webhooks/rxscale",
        data=body,
        headers={**headers, "X-Webhook-Signature": signed(body)},
    )
    assert response.status == 415
    assert await receiver.stored() == (0, 0, 0)


async def test_a_json_content_type_with_a_charset_is_fine(receiver: Receiver) -> None:
    body = json.dumps(created()).encode()
    response = await receiver.client.post(
        "/webhooks/rxscale",
        data=body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Webhook-Signature": signed(body),
        },
    )
    assert response.status == 200


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_webhook_paths_take_post_only(receiver: Receiver, method: str) -> None:
    response = await receiver.client.request(method, "/webhooks/empower")
    assert response.status == 405
    assert await receiver.stored() == (0, 0, 0)


async def test_a_source_outside_the_allow_list_is_403_even_with_the_key(
    database: Database,
) -> None:
    served = await serve(database, empower_sources=(ip_network("203.0.113.0/24"),))
    try:
        response = await served.empower(SHIPMENT)
        assert response.status == 403
        assert await response.json() == {"error": "forbidden"}
        assert await served.stored() == (0, 0, 0)
    finally:
        await served.client.close()


async def test_forwarded_for_counts_only_from_a_trusted_proxy(database: Database) -> None:
    allowed = (ip_network("203.0.113.0/24"),)
    forwarded = {"X-Forwarded-For": "203.0.113.9", "Content-Type": "application/json"}
    body = json.dumps(SHIPMENT).encode()
    headers = {**forwarded, "Authorization": "Bearer empower-key-1"}
    direct = await serve(database, empower_sources=allowed)
    try:
        # Loopback is not a trusted proxy here: its X-Forwarded-For is anyone's word.
        response = await direct.client.post("/webhooks/empower", data=body, headers=headers)
        assert response.status == 403
    finally:
        await direct.client.close()
    proxied = await serve(
        database, empower_sources=allowed, trusted_proxies=(ip_network("127.0.0.0/8"),)
    )
    try:
        response = await proxied.client.post("/webhooks/empower", data=body, headers=headers)
        assert response.status == 200
        spoofed = {**headers, "X-Forwarded-For": "203.0.113.9, 198.51.100.1"}
        response = await proxied.client.post("/webhooks/empower", data=body, headers=spoofed)
        assert response.status == 403  # the proxy saw 198.51.100.1; the rest is hearsay
    finally:
        await proxied.client.close()


async def test_only_the_configured_authorization_form_is_accepted(database: Database) -> None:
    served = await serve(database, receiver={"forms": frozenset({AuthForm.BASIC_USERNAME})})
    try:
        as_user = "Basic " + base64.b64encode(b"empower-key-1:").decode()
        assert (await served.empower(SHIPMENT, authorization="Bearer empower-key-1")).status == 401
        assert (await served.empower(SHIPMENT, authorization=as_user)).status == 200
    finally:
        await served.client.close()
