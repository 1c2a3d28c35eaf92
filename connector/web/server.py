"""The aiohttp applications (webhooks and health; metrics, alone or with them) and the
listeners that serve them, with the limits every connection is held to."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from aiohttp import web

from connector.web.context import CONTEXT, WebContext
from connector.web.empower_webhook import receive_empower_webhook
from connector.web.failsafe import answer_failures_plainly
from connector.web.health import healthz, metrics, readyz
from connector.web.rxscale_webhook import receive_rxscale_webhook


class ListenError(Exception):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"cannot listen on {where}: {reason}")


@dataclass(frozen=True)
class Listener:
    host: str
    port: int
    sock: socket.socket | None = None  # an already bound socket wins over host and port

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ConnectionLimits:
    # A connection that completes no request head within this is closed: it covers an idle
    # kept-alive connection, one that never sends anything and a partial request line.
    idle_timeout_seconds: float = 15.0
    max_line_size: int = 4096
    max_field_size: int = 8190
    max_headers: int = 64
    lingering_seconds: float = 1.0


def build_web_app(context: WebContext, *, with_metrics: bool = True) -> web.Application:
    # aiohttp enforces the size limit while reading; a little headroom lets our own check
    # answer 413 with a clear message.
    app = web.Application(
        client_max_size=context.max_body_bytes + 1, middlewares=[answer_failures_plainly]
    )
    app[CONTEXT] = context
    app.router.add_post("/webhooks/rxscale", receive_rxscale_webhook)
    app.router.add_post("/webhooks/empower", receive_empower_webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if with_metrics:
        app.router.add_get("/metrics", metrics)
    return app


def build_metrics_app(context: WebContext) -> web.Application:
    app = web.Application(client_max_size=1024, middlewares=[answer_failures_plainly])
    app[CONTEXT] = context
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    return app


class WebServer:
    """The webhook listener and, when asked for, a separate one for /metrics."""

    def __init__(
        self,
        context: WebContext,
        main: Listener,
        limits: ConnectionLimits,
        metrics_listener: Listener | None = None,
    ) -> None:
        self._context = context
        self._main = main
        self._limits = limits
        self._metrics = metrics_listener
        self._runners: list[web.AppRunner] = []
        self.url = ""
        self.metrics_url = ""

    async def start(self) -> None:
        separate = self._metrics is not None
        try:
            self.url = await self._serve(
                build_web_app(self._context, with_metrics=not separate), self._main
            )
            self.metrics_url = self.url
            if self._metrics is not None:
                self.metrics_url = await self._serve(
                    build_metrics_app(self._context), self._metrics
                )
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """No new requests; those in flight finish."""
        while self._runners:
            await self._runners.pop().cleanup()

    async def _serve(self, app: web.Application, listener: Listener) -> str:
        limits = self._limits
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=5.0,
            keepalive_timeout=limits.idle_timeout_seconds,
            max_line_size=limits.max_line_size,
            max_field_size=limits.max_field_size,
            max_headers=limits.max_headers,
            # After an early answer (413, 408), read what is left of a body this long at
            # most, instead of aiohttp's 10 s: a slow client is not owed our time.
            lingering_time=limits.lingering_seconds,
            # Bodies are kept as sent: Content-Encoding is refused with 415 anyway, and no
            # decompressor runs on bytes from someone not yet authenticated.
            auto_decompress=False,
        )
        await runner.setup()
        self._runners.append(runner)
        site: web.BaseSite
        if listener.sock is not None:
            site = web.SockSite(runner, listener.sock)
        else:
            site = web.TCPSite(runner, listener.host, listener.port)
        try:
            await site.start()
        except OSError as exc:
            raise ListenError(listener.where, exc.strerror or str(exc)) from exc
        return _site_url(site)


def _site_url(site: web.BaseSite) -> str:
    server = getattr(site, "_server", None)
    sockets = getattr(server, "sockets", None) or []
    if sockets:
        host, port = sockets[0].getsockname()[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}"
    return site.name
