"""The reference for the intake benchmark: a bare aiohttp handler that reads the body and
answers JSON, as the connector's receivers do before any of their own work.

    python bench/bare_server.py PORT
"""

from __future__ import annotations

import sys

from aiohttp import web


async def receive(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"status": "enqueued"})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app.router.add_post("/webhooks/rxscale", receive)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
