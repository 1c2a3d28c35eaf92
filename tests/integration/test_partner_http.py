"""The partners' HTTP session (connector.partner.http) over loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.domain.errors import Partner
from connector.partner.http import PartnerHttp


class CountingLimiter:
    """Our limiter interface, counting the places it hands out."""

    def __init__(self) -> None:
        self.slots = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.slots += 1
        yield


async def test_the_limiter_counts_every_attempt_that_reaches_the_wire() -> None:
    """aiohttp re-sends an idempotent request by itself when a pooled connection turns out
    to be closed. The partner counts both attempts, so the limiter must too."""
    seen = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal seen
        seen += 1
        if seen == 2:  # drop the reused keep-alive connection without an answer
            assert request.transport is not None
            request.transport.close()
            await asyncio.sleep(0.1)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/thing", handler)
    server = TestServer(app)
    await server.start_server()
    limiter = CountingLimiter()
    http = PartnerHttp(
        Partner.RXSCALE, str(server.make_url("")), headers={}, timeout_seconds=5, limiter=limiter
    )
    try:
        first = await http.request("get", "GET", "/thing")
        second = await http.request("get", "GET", "/thing")
    finally:
        await http.close()
        await server.close()
    assert (first.status, second.status) == (200, 200)
    assert seen == 3  # two calls of ours, three requests at the partner
    assert limiter.slots == seen
