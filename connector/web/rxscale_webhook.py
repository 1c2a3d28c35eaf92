"""POST /webhooks/rxscale: the raw body to the receive side, its receipt back as HTTP."""

from __future__ import annotations

from aiohttp import web

from connector.receive.rxscale import SOURCE
from connector.web.context import CONTEXT
from connector.web.responses import answer_receipt, read_body_or_refuse


async def receive_rxscale_webhook(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    body = await read_body_or_refuse(request, context, SOURCE)
    if isinstance(body, web.Response):
        return body
    receipt = await context.rxscale.receive(
        body, request.headers.get("X-Webhook-Signature"), context.clock.now()
    )
    return answer_receipt(context, SOURCE, receipt, kind_field="event_type")
