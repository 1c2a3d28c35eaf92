"""The JSON answers the receivers give, and reading a body within the size limit."""

from __future__ import annotations

import structlog
from aiohttp import web

from connector.web.context import WebContext

log = structlog.get_logger("connector.web")


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
