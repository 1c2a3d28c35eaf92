"""GET /healthz (the process answers) and GET /readyz (it can do its work)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from connector.store.database import StoreUnavailable
from connector.store.migrate import current_revisions
from connector.store.stats import database_figures
from connector.web.context import CONTEXT
from connector.web.responses import answer


async def healthz(_request: web.Request) -> web.Response:
    return answer(200, status="ok")


async def readyz(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    checks: dict[str, str] = {}
    checks["shutdown"] = "draining" if context.state.draining else "ok"
    try:
        await context.database.ping()
        checks["database"] = "ok"
        current = await current_revisions(context.database)
        checks["migrations"] = "ok" if current == context.state.schema_heads else "behind"
    except StoreUnavailable as exc:
        checks["database"] = f"unreachable ({exc.cause_name})"
        checks["migrations"] = "unknown"
    ready = all(value == "ok" for value in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format. The database gauges are read now; if the database is away the
    counters are still served and `connector_database_up` says so."""
    context = request.app[CONTEXT]
    try:
        async with context.database.connect() as connection:
            figures = await database_figures(connection, context.clock.now())
        context.metrics.describe_database(figures)
        context.metrics.database_up.set(1)
    except StoreUnavailable:
        context.metrics.database_up.set(0)
    context.metrics.ready.set(0 if context.state.draining else 1)
    return web.Response(
        body=context.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
