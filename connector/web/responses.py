"""The JSON answers the receivers give, and reading a body within the size limit."""

from __future__ import annotations

import asyncio
import functools
import json
import logging

import structlog
from aiohttp import ClientPayloadError, web
from aiohttp.web_protocol import RequestPayloadError

from connector.receive.receipt import Receipt, Verdict
from connector.web.context import WebContext
from connector.web.guard import unfit_request

log = structlog.get_logger("connector.web")
# What structlog's level filter asks too; asked first, the lines below the level (one per
# delivery at `warning`) cost a lookup instead of a pass through structlog.
_level_of = logging.getLogger("connector.web")

# HTTP status, and the word a webhook metric counts it under, for each verdict.
ANSWERS: dict[Verdict, tuple[int, str]] = {
    Verdict.ENQUEUED: (200, "enqueued"),
    Verdict.RECORDED: (200, "recorded"),
    Verdict.IGNORED: (200, "ignored"),
    Verdict.UNKNOWN: (200, "ignored"),
    Verdict.DUPLICATE: (200, "duplicate"),
    Verdict.UNAUTHORIZED: (401, "unauthorized"),
    Verdict.FORBIDDEN: (403, "forbidden"),
    Verdict.MALFORMED: (400, "malformed"),
    Verdict.UNAVAILABLE: (503, "unavailable"),
}


def answer(http_status: int, /, **fields: str | None) -> web.Response:
    return web.Response(
        body=_encoded(tuple(fields.items())),
        status=http_status,
        content_type="application/json",
        charset="utf-8",
    )


@functools.lru_cache(maxsize=256)
def _encoded(fields: tuple[tuple[str, str | None], ...]) -> bytes:
    """Answers are a few dozen bodies over and over (`{"status": "enqueued"}`): each is
    encoded once. Bounded, since an error's text can vary."""
    return json.dumps(dict(fields)).encode()


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


class BodyIncomplete(Exception):
    pass


async def read_body(request: web.Request, limit: int, within_seconds: float) -> bytes:
    """The raw body, refusing early on a declared size and while reading otherwise, and
    giving up on a client that does not finish sending it in time."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge
    try:
        if request.content.is_eof():
            # All of it came with the head (nearly every webhook): nothing to wait for, and
            # no timer to arm and cancel on the hot path.
            body = await request.read()
        else:
            async with asyncio.timeout(within_seconds):
                body = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise BodyTooLarge from exc
    except TimeoutError as exc:
        raise BodyTooSlow from exc
    except (ConnectionError, ClientPayloadError, RequestPayloadError) as exc:
        raise BodyIncomplete from exc
    if len(body) > limit:
        raise BodyTooLarge
    return body


def counted(
    context: WebContext, source: str, outcome: str, http_status: int, **fields: str | None
) -> web.Response:
    """Answer a webhook delivery and count it by what became of it."""
    context.metrics.webhook(source, outcome)
    return answer(http_status, **fields)


def refused(
    context: WebContext,
    source: str,
    reason: str,
    http_status: int,
    error: str,
    *,
    outcome: str | None = None,
) -> web.Response:
    """Answer a refused request: counted always (under `outcome`, the reason by default),
    logged within the budget of lines strangers may cause."""
    held_back = context.refusal_log.admit(f"{source}:{reason}")
    if held_back is not None:
        log.warning("webhook_rejected", source=source, reason=reason, held_back=held_back)
    return counted(context, source, outcome or reason, http_status, error=error)


async def read_body_or_refuse(
    request: web.Request, context: WebContext, source: str
) -> bytes | web.Response:
    """The raw body, or the answer (counted and logged) when it is unfit, too large or too
    slow to arrive."""
    unfit = unfit_request(request)
    if unfit is not None:
        return refused(context, source, "unsupported_media", *unfit)
    try:
        return await read_body(request, context.max_body_bytes, context.read_timeout_seconds)
    except BodyTooLarge:
        error = f"body exceeds {context.max_body_bytes} bytes"
        return refused(context, source, "too_large", 413, error)
    except BodyTooSlow:
        return refused(context, source, "too_slow", 408, "the body did not arrive in time")
    except BodyIncomplete:
        return refused(context, source, "incomplete", 400, "the body was cut short")


def answer_receipt(
    context: WebContext, source: str, receipt: Receipt, *, kind_field: str
) -> web.Response:
    """Log, count and answer what the receive side made of a delivery."""
    if receipt.job_ids:
        context.on_enqueued()
    http_status, outcome = ANSWERS[receipt.verdict]
    fields = {"source": source, "order_uid": receipt.order_uid, kind_field: receipt.kind}
    match receipt.verdict:
        case Verdict.UNAUTHORIZED | Verdict.FORBIDDEN:
            # Every refusal reads the same to the sender; the reason is for our log only.
            reason = receipt.reason or outcome
            return refused(context, source, reason, http_status, outcome, outcome=outcome)
        case Verdict.MALFORMED:
            # Only a holder of the secret can send these; still budgeted, a key can leak.
            held_back = context.refusal_log.admit(f"{source}:malformed")
            if held_back is not None:
                log.warning(
                    "webhook_rejected",
                    source=source,
                    reason="malformed",
                    problem=receipt.message,
                    held_back=held_back,
                )
        case Verdict.UNAVAILABLE:
            log.error("webhook_not_recorded", error=receipt.reason, **fields)
        case Verdict.UNKNOWN:
            log.warning("webhook_ignored", **fields)
        case _ if not _level_of.isEnabledFor(logging.INFO):
            pass  # below: a line per delivery, at `warning` most of what answering cost
        case Verdict.DUPLICATE:
            log.info("webhook_duplicate", **fields)
        case _:
            log.info("webhook_received", outcome=outcome, auth_form=receipt.auth_form, **fields)
    if receipt.accepted:
        return counted(context, source, outcome, http_status, status=outcome)
    return counted(context, source, outcome, http_status, error=receipt.message)
