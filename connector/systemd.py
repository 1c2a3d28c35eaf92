"""sd_notify(3) without libsystemd: readiness, watchdog pings and stopping, as datagrams to
$NOTIFY_SOCKET. Outside systemd (no socket), every call is a no-op."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping

import structlog

log = structlog.get_logger("connector.app")


class SystemdNotifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET") or None
        usec, pid = env.get("WATCHDOG_USEC"), env.get("WATCHDOG_PID")
        ours = pid is None or pid == str(os.getpid())
        self.watchdog_seconds = int(usec) / 1_000_000 if usec and usec.isdigit() and ours else None

    def notify(self, *fields: str) -> bool:
        if self.address is None:
            return False
        address = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(address)
                sock.sendall("\n".join(fields).encode())
        except OSError as exc:
            log.warning("systemd_notify_failed", error=type(exc).__name__)
            return False
        return True

    async def keep_alive(self) -> None:
        """Ping the watchdog from the event loop: if the loop hangs, the pings stop and
        systemd restarts the service."""
        if self.watchdog_seconds is None:
            return
        while True:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(self.watchdog_seconds / 2)
