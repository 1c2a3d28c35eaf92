"""POST /webhooks/rxscale: verify the signature over the raw body, record, enqueue, 200."""

from __future__ import annotations

import structlog
from aiohttp import web

from connector.domain.errors import MalformedDelivery
from connector.pipeline.inbox import take_rxscale_delivery
from connector.rxscale.webhook import parse_delivery, verify_signature
from connector.store.database import DATABASE_UNAVAILABLE
from connector.web.context import CONTEXT
from connector.web.responses import counted, read_body_or_refuse

log = structlog.get_logger("connector.web")
SOURCE = "rxscale"


async def receive_rxscale_webhook(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    body = await read_body_or_refuse(request, context, SOURCE)
    if isinstance(body, web.Response):
        return body
    signature = request.headers.get("X-Webhook-Signature")
    if not verify_signature(body, signature, context.rxscale_secrets):
        reason = "signature_missing" if not signature else "signature_mismatch"
        log.warning("webhook_rejected", source=SOURCE, reason=reason)
        return counted(context, SOURCE, "unauthorized", 401, error="signature does not verify")
    try:
        delivery = parse_delivery(body)
    except MalformedDelivery as exc:
        log.warning("webhook_rejected", source=SOURCE, reason="malformed", problem=str(exc))
        return counted(context, SOURCE, "malformed", 400, error=str(exc))
    with structlog.contextvars.bound_contextvars(
        order_uid=delivery.subject_uid, event_type=delivery.event_type
    ):
        try:
            result = await take_rxscale_delivery(
                context.database, delivery, context.clock.now(), stock_sync=context.stock_sync
            )
        except DATABASE_UNAVAILABLE as exc:
            # Not acknowledged, so RxScale delivers it again once we can record it.
            log.error("webhook_not_recorded", source=SOURCE, error=type(exc).__name__)
            return counted(
                context, SOURCE, "unavailable", 503, error="could not record; retry later"
            )
        if result.job_ids:
            context.on_enqueued()
        if result.duplicate:
            log.info("webhook_duplicate", source=SOURCE)
            return counted(context, SOURCE, "duplicate", 200, status="duplicate")
        log.info("webhook_received", source=SOURCE, outcome=result.outcome.value)
        return counted(context, SOURCE, result.outcome.value, 200, status=result.outcome.value)
