"""The last answer to a request whose handler failed in a way nobody planned for."""

from __future__ import annotations

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from connector.throttle import LogBudget
from connector.web.responses import answer

log = structlog.get_logger("connector.web")
_budget = LogBudget()


@web.middleware
async def answer_failures_plainly(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A 500 with a fixed body, and one error line with the exception's types and frames
    (the logging pipeline withholds messages and locals), within a budget of lines."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        held_back = _budget.admit(f"{request.path}:{type(exc).__name__}")
        if held_back is not None:
            log.error(
                "request_failed",
                path=request.path,
                method=request.method,
                error=type(exc).__name__,
                held_back=held_back,
                exc_info=exc,
            )
        return answer(500, error="internal error")
