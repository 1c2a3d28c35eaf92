"""The base of every partner wire model, and how their validation errors are told."""

from __future__ import annotations

import json
import re
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


MAX_JSON_DEPTH = 32


def load_json_object(body: bytes) -> dict[str, Any]:
    """A webhook body as a JSON object, or a `MalformedDelivery` saying what it is not.

    Authentic but strange bodies are refused here with a 400, never a 500 the partner would
    retry for ever: nesting deep enough to exhaust the parser, numbers too long to convert,
    and strings holding a lone UTF-16 surrogate (valid JSON escapes, but not text: no
    database or encoder downstream accepts them).
    """
    if _nesting_exceeds(body, MAX_JSON_DEPTH):
        raise MalformedDelivery(f"body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedDelivery("body is not valid JSON") from exc
    if not isinstance(document, dict):
        raise MalformedDelivery("body must be a JSON object")
    if _MAY_HOLD_A_SURROGATE.search(body) and not _all_text_encodable(document):
        raise MalformedDelivery("body holds a string that is not valid Unicode text")
    return document


def _nesting_exceeds(body: bytes, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit`, brackets inside strings aside;
    read before parsing, so that no parser recursion is spent on a hostile body."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # the common case, without a loop in Python
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


# Where a lone surrogate can come from in a body `json.loads` reads: an escape of one, the
# raw UTF-8 form of one (it decodes with "surrogatepass"), or a UTF-16/32 body (NUL
# bytes). A body with none of these (nearly all) needs no walk through its strings.
_MAY_HOLD_A_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]|\x00")


def _all_text_encodable(document: object) -> bool:
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            texts: list[str] = [item]
        elif isinstance(item, dict):
            texts = list(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
            continue
        else:
            continue
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True
