"""The aiohttp application: routes and limits."""

from __future__ import annotations

from aiohttp import web

from connector.web.context import CONTEXT, WebContext
from connector.web.empower_webhook import receive_empower_webhook
from connector.web.health import healthz, metrics, readyz
from connector.web.rxscale_webhook import receive_rxscale_webhook


def build_web_app(context: WebContext) -> web.Application:
    # aiohttp enforces the size limit while reading; a little headroom lets our own check
    # answer 413 with a clear message.
    app = web.Application(client_max_size=context.max_body_bytes + 1)
    app[CONTEXT] = context
    app.router.add_post("/webhooks/rxscale", receive_rxscale_webhook)
    app.router.add_post("/webhooks/empower", receive_empower_webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app
