"""Both sandbox servers on loopback sockets, started and stopped together."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from aiohttp import web

from connector.sandbox.empower_server import EmpowerSandbox
from connector.sandbox.rxscale_server import BASE_PATH, RxScaleSandbox


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening socket; port 0 picks a free one and keeps it (no race)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


@dataclass
class RunningSandbox:
    rxscale: RxScaleSandbox
    empower: EmpowerSandbox
    rxscale_root: str
    empower_url: str
    _runners: tuple[web.AppRunner, ...]

    @property
    def rxscale_url(self) -> str:
        """The External Pharmacy API base URL, as the connector is configured with it."""
        return f"{self.rxscale_root}{BASE_PATH}"

    async def close(self) -> None:
        for runner in self._runners:
            await runner.cleanup()


async def serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    # A short shutdown timeout: a request held by a "hang" fault must not hold up the exit.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    sock = listening_socket(host, port)
    await web.SockSite(runner, sock).start()
    return runner, url_of(sock)


async def start_sandbox(
    rxscale: RxScaleSandbox | None = None,
    empower: EmpowerSandbox | None = None,
    *,
    host: str = "127.0.0.1",
    rxscale_port: int = 0,
    empower_port: int = 0,
) -> RunningSandbox:
    rxscale = rxscale or RxScaleSandbox()
    empower = empower or EmpowerSandbox()
    rx_runner, rx_url = await serve(rxscale.app(), host, rxscale_port)
    try:
        em_runner, em_url = await serve(empower.app(), host, empower_port)
    except BaseException:
        await rx_runner.cleanup()
        raise
    return RunningSandbox(rxscale, empower, rx_url, em_url, (rx_runner, em_runner))
