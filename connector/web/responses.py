"""The JSON answers the receivers give, and reading a body within the size limit."""

from __future__ import annotations

import structlog
from aiohttp import web

from connector.receive.receipt import Receipt, Verdict
from connector.web.context import WebContext

log = structlog.get_logger("connector.web")

# HTTP status, and the word a webhook metric counts it under, for each verdict.
ANSWERS: dict[Verdict, tuple[int, str]] = {
    Verdict.ENQUEUED: (200, "enqueued"),
    Verdict.RECORDED: (200, "recorded"),
    Verdict.IGNORED: (200, "ignored"),
    Verdict.UNKNOWN: (200, "ignored"),
    Verdict.DUPLICATE: (200, "duplicate"),
    Verdict.UNAUTHORIZED: (401, "unauthorized"),
    Verdict.MALFORMED: (400, "malformed"),
    Verdict.UNAVAILABLE: (503, "unavailable"),
}


def answer(http_status: int, /, **fields: str | None) -> web.Response:
    return web.json_response(fields, status=http_status)


class BodyTooLarge(Exception):
    pass


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body, refusing early on a declared size and while reading otherwise."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise BodyTooLarge from exc
    if len(body) > limit:
        raise BodyTooLarge
    return body


def counted(
    context: WebContext, source: str, outcome: str, http_status: int, **fields: str | None
) -> web.Response:
    """Answer a webhook delivery and count it by what became of it."""
    context.metrics.webhook(source, outcome)
    return answer(http_status, **fields)


async def read_body_or_refuse(
    request: web.Request, context: WebContext, source: str
) -> bytes | web.Response:
    """The raw body, or the 413 answer (counted and logged) when it is too large."""
    try:
        return await read_body(request, context.max_body_bytes)
    except BodyTooLarge:
        log.warning("webhook_rejected", source=source, reason="too_large")
        return counted(
            context, source, "too_large", 413, error=f"body exceeds {context.max_body_bytes} bytes"
        )


def answer_receipt(
    context: WebContext, source: str, receipt: Receipt, *, kind_field: str
) -> web.Response:
    """Log, count and answer what the receive side made of a delivery."""
    if receipt.job_ids:
        context.on_enqueued()
    http_status, outcome = ANSWERS[receipt.verdict]
    fields = {"source": source, "order_uid": receipt.order_uid, kind_field: receipt.kind}
    match receipt.verdict:
        case Verdict.UNAUTHORIZED:
            log.warning("webhook_rejected", source=source, reason=receipt.reason)
        case Verdict.MALFORMED:
            log.warning(
                "webhook_rejected", source=source, reason="malformed", problem=receipt.message
            )
        case Verdict.UNAVAILABLE:
            log.error("webhook_not_recorded", error=receipt.reason, **fields)
        case Verdict.DUPLICATE:
            log.info("webhook_duplicate", **fields)
        case Verdict.UNKNOWN:
            log.warning("webhook_ignored", **fields)
        case _:
            log.info("webhook_received", outcome=outcome, **fields)
    if receipt.accepted:
        return counted(context, source, outcome, http_status, status=outcome)
    return counted(context, source, outcome, http_status, error=receipt.message)
