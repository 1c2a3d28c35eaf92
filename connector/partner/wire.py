"""The base of every partner wire model, and how their validation errors are told."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from connector.domain.errors import MalformedDelivery, Partner, UnreadableResponse


class WireModel(BaseModel):
    """Partner JSON: unknown fields ignored, never rejected; errors never echo input."""

    model_config = ConfigDict(
        extra="ignore",
        hide_input_in_errors=True,
        coerce_numbers_to_str=True,
        frozen=True,
    )


M = TypeVar("M", bound=BaseModel)


def describe_validation_error(error: ValidationError, *, where: str = "") -> str:
    """Field paths and reasons only; never the offending values (they may be patient data)."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        if where:
            location = f"{where}.{location}" if location else where
        problems.append(f"{location or 'body'}: {item['msg']}")
    return "; ".join(problems)


def read_response(partner: Partner, operation: str, document: object, model: type[M]) -> M:
    """Part of a partner's answer as `model`, or `UnreadableResponse` naming what is wrong."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise unreadable(partner, operation, describe_validation_error(exc)) from exc


def unreadable(partner: Partner, operation: str, problem: str) -> UnreadableResponse:
    return UnreadableResponse(partner, operation, f"unreadable response: {problem}")


def validate_delivery(model: type[M], document: object, *, where: str = "") -> M:
    """Validate part of a webhook body; a mismatch is a `MalformedDelivery` (HTTP 400)."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise MalformedDelivery(describe_validation_error(exc, where=where)) from exc


def load_json_object(body: bytes) -> dict[str, Any]:
    """A webhook body as a JSON object, or a `MalformedDelivery` saying what it is not."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedDelivery("body is not valid JSON") from exc
    if not isinstance(document, dict):
        raise MalformedDelivery("body must be a JSON object")
    return document
