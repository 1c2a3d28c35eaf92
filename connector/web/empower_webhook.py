"""POST /webhooks/empower: the key checked first, then the body to the receive side."""

from __future__ import annotations

from aiohttp import web

from connector.receive.empower import SOURCE
from connector.web.context import CONTEXT
from connector.web.responses import answer_receipt, read_body_or_refuse


async def receive_empower_webhook(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    receiver = context.empower
    if not receiver.authorized(request.headers.get("Authorization")):
        return answer_receipt(context, SOURCE, receiver.refused(), kind_field="callback_type")
    body = await read_body_or_refuse(request, context, SOURCE)
    if isinstance(body, web.Response):
        return body
    receipt = await receiver.receive(body, context.clock.now())
    return answer_receipt(context, SOURCE, receipt, kind_field="callback_type")
