"""The request bodies the partners accept, as the contract states them (docs/partners.md),
written out here by hand and independently of the connector's client models: a client
model that misnames, mistypes or forgets a field is refused by the sandbox, never mirrored.

Unknown fields in a request are refused too, so that a misspelt optional field cannot be
dropped silently. (Answers the connector reads are another matter: there, unknown fields
are ignored.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Rule = Callable[[Any, str], list[str]]


class Violation(ValueError):
    """The body breaks the contract; the message names each field and what is wrong."""


def text(min_length: int = 1, max_length: int = 255) -> Rule:
    def check(value: Any, where: str) -> list[str]:
        if not isinstance(value, str):
            return [f"{where}: must be a string"]
        if not min_length <= len(value) <= max_length:
            return [f"{where}: must be {min_length} to {max_length} characters"]
        return []

    return check


def integer(minimum: int | None = None) -> Rule:
    def check(value: Any, where: str) -> list[str]:
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: must be an integer"]
        if minimum is not None and value < minimum:
            return [f"{where}: must be at least {minimum}"]
        return []

    return check


def array(of: Rule, min_items: int = 0) -> Rule:
    def check(value: Any, where: str) -> list[str]:
        if not isinstance(value, list):
            return [f"{where}: must be an array"]
        if len(value) < min_items:
            return [f"{where}: must have at least {min_items} item(s)"]
        return [p for i, item in enumerate(value) for p in of(item, f"{where}[{i}]")]

    return check


def nullable(rule: Rule) -> Rule:
    def check(value: Any, where: str) -> list[str]:
        return [] if value is None else rule(value, where)

    return check


def obj(required: Mapping[str, Rule], optional: Mapping[str, Rule] | None = None) -> Rule:
    optional = optional or {}

    def check(value: Any, where: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{where or 'body'}: must be an object"]
        prefix = f"{where}." if where else ""
        problems = [f"{prefix}{name}: is required" for name in required if name not in value]
        for name, item in value.items():
            rule = required.get(name) or optional.get(name)
            if rule is None:
                problems.append(f"{prefix}{name}: is not a field of this request")
            else:
                problems += rule(item, f"{prefix}{name}")
        return problems

    return check


def check(rule: Rule, document: Any) -> None:
    problems = rule(document, "")
    if problems:
        raise Violation("; ".join(problems))


# --- Empower (all assumed; the introduction shows one order example) ----------------------

EMPOWER_ADDRESS = obj(
    {"line1": text(), "city": text(), "zip": text(max_length=32), "country": text(max_length=64)},
    {"line2": nullable(text(0)), "state": nullable(text(0))},
)
EMPOWER_PATIENT = obj(
    {
        "external_id": text(),
        "first_name": text(),
        "last_name": text(),
        "date_of_birth": text(max_length=10),
    },
    {"email": nullable(text()), "phone": nullable(text()), "address": nullable(EMPOWER_ADDRESS)},
)
EMPOWER_PRESCRIPTION = obj(
    {
        "external_id": text(),
        "patient_token": text(),
        "prescriber": obj({"name": text()}, {"npi": nullable(text(10, 10))}),
        "medication": obj({"product_id": text(), "quantity": integer(minimum=1)}),
    },
    {"document": nullable(obj({"filename": text(), "content_base64": text(max_length=10**8)}))},
)
# `prescription_tokens` as the contract says, or one `prescription_token` and no
# `external_order_id`, as in the introduction's own example; one of the two is required.
EMPOWER_ORDER = obj(
    {"patient_token": text(), "shipping_method": text()},
    {
        "external_order_id": text(),
        "prescription_tokens": array(text(), min_items=1),
        "prescription_token": text(),
        "shipping_address": nullable(EMPOWER_ADDRESS),
    },
)


def empower_order_tokens(document: dict[str, Any]) -> list[str]:
    """The prescription tokens an order names, however it names them."""
    tokens = list(document.get("prescription_tokens") or [])
    single = document.get("prescription_token")
    if single and single not in tokens:
        tokens.append(single)
    if not tokens:
        raise Violation("prescription_tokens: must name at least one prescription")
    return tokens


# --- RxScale ------------------------------------------------------------------------------

RXSCALE_STATUS_UPDATE = obj({"status": text(max_length=64)}, {"comment": nullable(text(0, 10_000))})
# The body of complete_order is not documented; the contract assumes these three fields.
RXSCALE_COMPLETION = obj(
    {},
    {
        "tracking_number": nullable(text()),
        "tracking_url": nullable(text(max_length=2048)),
        "carrier": nullable(text(max_length=64)),
    },
)
RXSCALE_STOCK_UPDATE = obj({"stock": integer(minimum=0)})
RXSCALE_NEW_SUBSCRIPTION = obj(
    {"target": text(max_length=2048), "notification_type": text(max_length=64)}
)
