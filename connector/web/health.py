"""GET /healthz (the process answers) and GET /readyz (it can do its work)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from connector.store.database import DATABASE_UNAVAILABLE
from connector.store.migrate import current_revisions
from connector.web.context import CONTEXT
from connector.web.responses import answer


async def healthz(_request: web.Request) -> web.Response:
    return answer(200, status="ok")


async def readyz(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    checks: dict[str, str] = {}
    checks["shutdown"] = "draining" if context.state.draining else "ok"
    try:
        async with context.database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current = await current_revisions(context.database)
        checks["migrations"] = "ok" if current == context.state.schema_heads else "behind"
    except DATABASE_UNAVAILABLE as exc:
        checks["database"] = f"unreachable ({type(exc).__name__})"
        checks["migrations"] = "unknown"
    ready = all(value == "ok" for value in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )
