"""POST /webhooks/empower: the source and the key checked first, then the body to the
receive side."""

from __future__ import annotations

from aiohttp import web

from connector.receive.empower import SOURCE
from connector.receive.receipt import Receipt, Verdict
from connector.web.context import CONTEXT
from connector.web.responses import answer_receipt, read_body_or_refuse
from connector.web.sources import client_address, source_allowed


async def receive_empower_webhook(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    receiver = context.empower
    address = client_address(request, context.trusted_proxies)
    if not source_allowed(address, context.empower_sources):
        forbidden = Receipt(Verdict.FORBIDDEN, reason="source_not_allowed")
        return answer_receipt(context, SOURCE, forbidden, kind_field="callback_type")
    form = receiver.authorized(request.headers.get("Authorization"))
    if form is None:
        return answer_receipt(context, SOURCE, receiver.refused(), kind_field="callback_type")
    body = await read_body_or_refuse(request, context, SOURCE)
    if isinstance(body, web.Response):
        return body
    receipt = await receiver.receive(body, context.clock.now())
    return answer_receipt(
        context, SOURCE, receipt.with_auth_form(form.value), kind_field="callback_type"
    )
