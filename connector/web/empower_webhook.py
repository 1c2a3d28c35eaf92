"""POST /webhooks/empower: check the Authorization key, record, enqueue, 200."""

from __future__ import annotations

import hashlib

import structlog
from aiohttp import web

from connector.domain.errors import MalformedDelivery
from connector.empower.webhook import UnknownCallback, is_authorized, parse_event
from connector.pipeline.inbox import (
    InboxResult,
    record_unknown_empower_delivery,
    take_empower_delivery,
)
from connector.store.database import DATABASE_UNAVAILABLE
from connector.web.context import CONTEXT
from connector.web.responses import counted, read_body_or_refuse

log = structlog.get_logger("connector.web")
SOURCE = "empower"


async def receive_empower_webhook(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    # The key is checked before the body is read: a stranger costs us nothing.
    if not is_authorized(request.headers.get("Authorization"), context.empower_keys):
        log.warning("webhook_rejected", source=SOURCE, reason="unauthorized")
        return counted(
            context, SOURCE, "unauthorized", 401, error="missing or wrong Authorization key"
        )
    body = await read_body_or_refuse(request, context, SOURCE)
    if isinstance(body, web.Response):
        return body
    try:
        event = parse_event(body)
    except MalformedDelivery as exc:
        log.warning("webhook_rejected", source=SOURCE, reason="malformed", problem=str(exc))
        return counted(context, SOURCE, "malformed", 400, error=str(exc))
    # Empower sends no event id: a byte-identical body is the same delivery.
    digest = hashlib.sha256(body).hexdigest()
    now = context.clock.now()
    result: InboxResult
    try:
        if isinstance(event, UnknownCallback):
            result = await record_unknown_empower_delivery(
                context.database, event.callback_type, digest, now
            )
        else:
            result = await take_empower_delivery(context.database, event, digest, now)
    except DATABASE_UNAVAILABLE as exc:
        log.error("webhook_not_recorded", source=SOURCE, error=type(exc).__name__)
        return counted(context, SOURCE, "unavailable", 503, error="could not record; retry later")
    if result.job_ids:
        context.on_enqueued()
    fields = {"source": SOURCE, "order_uid": result.order_uid}
    if result.duplicate:
        log.info("webhook_duplicate", **fields)
        return counted(context, SOURCE, "duplicate", 200, status="duplicate")
    if isinstance(event, UnknownCallback):
        log.warning("webhook_ignored", callback_type=event.callback_type, **fields)
        return counted(context, SOURCE, "ignored", 200, status="ignored")
    log.info("webhook_received", outcome=result.outcome.value, **fields)
    return counted(context, SOURCE, result.outcome.value, 200, status=result.outcome.value)
