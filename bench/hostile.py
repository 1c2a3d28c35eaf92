"""Hostile requests for both webhook receivers, and a raw HTTP/1.1 sender.

One generator serves the property tests (driven by hypothesis's random) and the by-hand
fuzz run (`bench/fuzz.py`, driven by a seeded `random.Random`). Requests go out as raw
bytes over a socket so that anything can be sent: broken request lines, non-ASCII and
control bytes in headers, bodies that disagree with their Content-Length.

Each request says whether it carries valid credentials: an unauthenticated request must
never get a 2xx or leave a row behind.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
from dataclasses import dataclass, field
from typing import Any

SEND_TIMEOUT_SECONDS = 10.0

KINDS = (
    "random_bytes",
    "json_unsigned",
    "json_signed",
    "header_attack",
    "empower_auth",
    "empower_signed",
    "wrong_method_or_path",
    "strange_signed",
)


@dataclass(frozen=True)
class Credentials:
    rxscale_secret: str
    empower_key: str


@dataclass
class HostileRequest:
    kind: str
    method: bytes
    path: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    authentic: bool = False  # carries a valid signature or key
    content_length: int | None = None  # None: the real length

    def to_bytes(self) -> bytes:
        length = len(self.body) if self.content_length is None else self.content_length
        lines = [self.method + b" " + self.path + b" HTTP/1.1", b"Host: connector"]
        lines += [name + b": " + value for name, value in self.headers]
        lines += [b"Content-Length: " + str(length).encode(), b"Connection: close"]
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


def sign(body: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()


def _text(rng: random.Random, size: int = 12) -> str:
    alphabet = [
        "a",
        "Z",
        "0",
        " ",
        "\u00e9",
        "\u4e2d",
        "\U0001f600",
        "\\",
        '"',
        "\x00",
        "\ud800",
        "\udfff",
        "%",
        "/",
        "\n",
    ]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, size)))


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.3:
        return rng.choice(
            [
                None,
                True,
                0,
                -1,
                2**64,
                10**400,
                1e308,
                -0.0,
                "",
                _text(rng),
                "x" * rng.randint(200, 5000),
            ]
        )
    if roll < 0.65:
        return {_text(rng, 6): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def _dumps(document: Any, rng: random.Random) -> bytes:
    text = json.dumps(document, ensure_ascii=rng.random() < 0.5)
    return text.encode("utf-8", "surrogatepass")


def rxscale_document(rng: random.Random) -> dict[str, Any]:
    document: dict[str, Any] = {
        "event_type": rng.choice(
            [
                "pharmacy_order_created",
                "pharmacy_order_updated",
                "sku_stock_updated",
                _text(rng),
            ]
        ),
        "timestamp": rng.choice([1711900000, -1, 2**63, "1711900000", None, 1.5]),
        "payload_version": rng.choice(["1", 1, None]),
        "data": {
            "uid": rng.choice([f"po-fuzz-{rng.randrange(10**9)}", _text(rng), "", None, 7]),
            "status": rng.choice(["cancelled", "waiting for pharmacy", _text(rng), None]),
        },
    }
    for _ in range(rng.randint(0, 3)):  # mutations
        data = document.get("data")
        where = rng.choice([document, data]) if isinstance(data, dict) else document
        action = rng.random()
        key = rng.choice([*where.keys(), _text(rng, 5)])
        if action < 0.35:
            where.pop(key, None)
        else:
            where[key] = _value(rng)
    return document


def empower_document(rng: random.Random) -> dict[str, Any]:
    callback = rng.choice(["SHIPMENT", "ORDER", "NOTIFY_RX", _text(rng)])
    details: dict[str, Any] = {
        "status": rng.choice(["SHIPPED", "DELIVERED", "ON_HOLD", _text(rng), None]),
        "tracking_number": rng.choice(["1Z999", _text(rng), None, 5]),
        "tracking_url": rng.choice(["https://t.example/1", "javascript:alert(1)", None]),
        "message": _text(rng, 40),
        "code": rng.choice(["R1", _text(rng), None]),
        "prescription_token": rng.choice(["rx_1", None, _text(rng)]),
    }
    document: dict[str, Any] = {
        "request_id": rng.choice([f"fill_request_fuzz{rng.randrange(10**9)}", _text(rng), None]),
        "callback_type": callback,
        "status": rng.choice(["success", "error", _text(rng)]),
        "details": details,
    }
    for _ in range(rng.randint(0, 3)):
        inner = document.get("details")
        where = rng.choice([document, inner]) if isinstance(inner, dict) else document
        key = rng.choice([*where.keys(), _text(rng, 5)])
        where[key] = _value(rng)
    return document


def strange_body(rng: random.Random) -> bytes:
    """Valid JSON-ish text that strains parsers: nesting, duplicate keys, escapes."""
    depth = rng.choice([40, 500, 5000])
    return rng.choice(
        [
            b"[" * depth + b"]" * depth,
            b'{"a":' * depth + b"1" + b"}" * depth,
            b'{"event_type": "pharmacy_order_created", "event_type": "x", "data": {"uid": "a"}}',
            b'{"data": {"uid": "\\ud800"}, "event_type": "pharmacy_order_created", "timestamp": 1}',
            b'{"timestamp": ' + b"9" * 10000 + b"}",
            b'{"x": 1e999999}',
            b"\xef\xbb\xbf{}",  # a byte-order mark
            b'{"callback_type": "ORDER", "request_id": "\\u0000"}',
        ]
    )


def _random_header_value(rng: random.Random) -> bytes:
    return bytes(
        rng.choice([*range(0x20, 0x7F), 0x80, 0xC3, 0xA9, 0xFF, 0x09])
        for _ in range(rng.randint(0, 40))
    )


def generate(rng: random.Random, kind: str, credentials: Credentials) -> HostileRequest:
    rx_path, em_path = b"/webhooks/rxscale", b"/webhooks/empower"
    json_type = (b"Content-Type", b"application/json")
    if kind == "random_bytes":
        body = rng.randbytes(rng.randint(0, 2048))
        return HostileRequest(kind, b"POST", rng.choice([rx_path, em_path]), [json_type], body)
    if kind == "json_unsigned":
        body = _dumps(rxscale_document(rng), rng)
        signature = rng.choice(
            [
                b"",
                b"0" * 64,
                sign(body, "whsec_wrong_wrong_wrong"),
                sign(body[:-1], credentials.rxscale_secret),
            ]
        )
        return HostileRequest(
            kind, b"POST", rx_path, [json_type, (b"X-Webhook-Signature", signature)], body
        )
    if kind == "json_signed":
        body = _dumps(rxscale_document(rng), rng)
        signature = sign(body, credentials.rxscale_secret)
        return HostileRequest(
            kind,
            b"POST",
            rx_path,
            [json_type, (b"X-Webhook-Signature", signature)],
            body,
            authentic=True,
        )
    if kind == "strange_signed":
        body = strange_body(rng)
        if rng.random() < 0.5:
            headers = [json_type, (b"X-Webhook-Signature", sign(body, credentials.rxscale_secret))]
            return HostileRequest(kind, b"POST", rx_path, headers, body, authentic=True)
        headers = [json_type, (b"Authorization", b"Bearer " + credentials.empower_key.encode())]
        return HostileRequest(kind, b"POST", em_path, headers, body, authentic=True)
    if kind == "empower_signed":
        body = _dumps(empower_document(rng), rng)
        headers = [json_type, (b"Authorization", b"Bearer " + credentials.empower_key.encode())]
        return HostileRequest(kind, b"POST", em_path, headers, body, authentic=True)
    if kind == "empower_auth":
        key = credentials.empower_key.encode()
        forms = [
            b"Basic " + _random_header_value(rng),
            b"Bearer " + _random_header_value(rng),
            b"Basic " + base64.b64encode(_random_header_value(rng) + b":" + key[:-1]),
            b"Basic " + base64.b64encode(key + b"x:" + key[1:]),  # near misses both ways
            b"Basic \xc3\xa9",
            b"Bearer \xff",
            b"Bearer " + key[:-1],
            b"Basic ====",
            _random_header_value(rng),
        ]
        body = _dumps(empower_document(rng), rng)
        return HostileRequest(
            kind, b"POST", em_path, [json_type, (b"Authorization", rng.choice(forms))], body
        )
    if kind == "header_attack":
        headers = [
            (
                b"Content-Type",
                rng.choice([b"application/json", b"text/plain", _random_header_value(rng)]),
            ),
            (b"Content-Encoding", rng.choice([b"gzip", b"deflate", b"br", b"identity, gzip"])),
            (b"X-Webhook-Signature", _random_header_value(rng)),
            (b"X-Forwarded-For", _random_header_value(rng)),
        ]
        rng.shuffle(headers)
        body = rng.choice([b"\x1f\x8b\x08\x00garbage", _dumps(rxscale_document(rng), rng)])
        length = rng.choice([None, None, len(body) + 10, 0])
        request = HostileRequest(kind, b"POST", rng.choice([rx_path, em_path]), headers, body)
        request.content_length = None if length is None or length > len(body) else length
        return request
    # wrong_method_or_path
    method = rng.choice(
        [b"GET", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE", b"POSTX", b"G\xc3\xa9T"]
    )
    path = rng.choice(
        [rx_path, em_path, b"/webhooks/../metrics", b"/%00", b"/" + b"a" * 5000, b"*"]
    )
    return HostileRequest(kind, method, path, [json_type], b"{}")


async def send(host: str, port: int, request: HostileRequest) -> int:
    """Send one raw request; the status of the answer, or 0 when the server closed the
    connection without one."""
    try:
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
            reader, writer = await asyncio.open_connection(host, port)
    except (ConnectionError, TimeoutError):
        return 0
    try:
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
            writer.write(request.to_bytes())
            await writer.drain()
            line = await reader.readline()
            await reader.read()
    except (ConnectionError, TimeoutError):
        return 0
    finally:
        writer.close()
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0
