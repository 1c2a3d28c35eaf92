"""The partners' HTTP session (connector.partner.http) over loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.domain.errors import Partner, PermanentError, UnreadableResponse
from connector.partner.http import PartnerHttp


class CountingLimiter:
    """Our limiter interface, counting the places it hands out; each place is given after
    `wait` seconds, as a busy rate limit would."""

    def __init__(self, wait: float = 0.0) -> None:
        self.slots = 0
        self.wait = wait

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await asyncio.sleep(self.wait)
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


async def test_waiting_for_the_rate_limit_does_not_count_against_the_timeout() -> None:
    """Under a busy shared limit a request may wait longer than its timeout for its turn.
    The timeout is for the partner's answer: counting the wait in it would time out a
    request that then reached the partner and took effect, and it would run again."""

    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.3)
        return web.json_response({"ok": True})

    server = await serve(web.get("/thing", handler))
    limiter = CountingLimiter(wait=1.0)
    http = PartnerHttp(
        Partner.RXSCALE, str(server.make_url("")), headers={}, timeout_seconds=0.8, limiter=limiter
    )
    try:
        reply = await http.request("get", "GET", "/thing")
    finally:
        await http.close()
        await server.close()
    assert reply.status == 200
    assert limiter.slots == 1


class Recorder:
    """A server that records the headers of every request it gets."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(dict(request.headers))
        return web.json_response({"ok": True})


async def serve(*routes: web.RouteDef) -> TestServer:
    app = web.Application()
    app.add_routes(routes)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_a_redirect_is_not_followed_and_the_key_stays_home() -> None:
    elsewhere = Recorder()
    other = await serve(web.get("/{tail:.*}", elsewhere.handle))

    async def redirect(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(str(other.make_url("/steal")))

    partner = await serve(web.get("/orders", redirect))
    http = PartnerHttp(
        Partner.RXSCALE,
        str(partner.make_url("")),
        headers={"X-API-Key": "rxs-secret-key"},
        timeout_seconds=5,
    )
    try:
        reply = await http.request("get_order", "GET", "/orders")
        assert reply.status == 302  # handed to the adapter as an unexpected status
        assert elsewhere.seen == []
    finally:
        await http.close()
        await partner.close()
        await other.close()


async def test_credentials_are_withheld_from_any_other_origin() -> None:
    elsewhere = Recorder()
    other = await serve(web.get("/{tail:.*}", elsewhere.handle))
    home = Recorder()
    partner = await serve(web.get("/{tail:.*}", home.handle))
    http = PartnerHttp(
        Partner.EMPOWER,
        f"http://127.0.0.1:{partner.port}",
        headers={"Authorization": "Bearer emp-secret-key"},
        timeout_seconds=5,
    )
    try:
        await http.request("get_order", "GET", "/v1/orders/1")
        assert home.seen[-1]["Authorization"] == "Bearer emp-secret-key"
        # A path that turns the base URL into user info of another host.
        with pytest.raises(PermanentError, match="refused to send credentials"):
            await http.request("get_order", "GET", f"@127.0.0.1:{other.port}/x")
        assert elsewhere.seen == []
    finally:
        await http.close()
        await partner.close()
        await other.close()


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_answer_over_the_cap_is_refused_unread(chunked: bool) -> None:
    async def huge(request: web.Request) -> web.StreamResponse:
        if not chunked:
            return web.Response(body=b"x" * 4096, content_type="application/json")
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(8):
            await response.write(b"x" * 1024)
        await response.write_eof()
        return response

    partner = await serve(web.get("/big", huge))
    http = PartnerHttp(
        Partner.RXSCALE,
        str(partner.make_url("")),
        headers={"X-API-Key": "k"},
        timeout_seconds=5,
        max_response_bytes=2048,
    )
    try:
        with pytest.raises(UnreadableResponse, match="larger than 2048 bytes"):
            await http.request("get_order", "GET", "/big")
    finally:
        await http.close()
        await partner.close()
