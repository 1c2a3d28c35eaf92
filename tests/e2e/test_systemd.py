"""Under systemd: READY once serving, watchdog pings from the event loop, STOPPING on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

from connector.sandbox.runner import start_sandbox
from connector.systemd import SystemdNotifier
from tests.e2e.processes import base_env, free_port


async def test_a_daemon_under_systemd_reports_ready_pings_and_stopping(tmp_path: Path) -> None:
    sandbox = await start_sandbox()
    notify_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.setblocking(False)
    env = base_env(
        NOTIFY_SOCKET=str(notify_path),
        WATCHDOG_USEC="400000",  # a ping every 0.2 s
        CONNECTOR_DATABASE_URL=f"sqlite:///{tmp_path}/connector.db",
        CONNECTOR_HTTP__PORT=str(free_port()),
        CONNECTOR_RXSCALE__BASE_URL=sandbox.rxscale_url,
        CONNECTOR_RXSCALE__API_KEY=sandbox.rxscale.api_key,
        CONNECTOR_RXSCALE__WEBHOOK_SECRETS="whsec_systemd_0123456789",
        CONNECTOR_EMPOWER__BASE_URL=sandbox.empower_url,
        CONNECTOR_EMPOWER__API_KEY=sandbox.empower.api_key,
        CONNECTOR_EMPOWER__WEBHOOK_KEYS="systemd-hook-key-0123",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "connector",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    loop = asyncio.get_running_loop()
    messages: list[str] = []

    async def receive_until(wanted: str, within: float) -> None:
        async with asyncio.timeout(within):
            while wanted not in messages:
                messages.extend((await loop.sock_recv(listener, 4096)).decode().splitlines())

    try:
        await receive_until("READY=1", within=20)
        ready_at = len(messages)
        await asyncio.sleep(1.0)
        while True:  # everything queued during that second
            try:
                messages.extend(listener.recv(4096).decode().splitlines())
            except BlockingIOError:
                break
        pings = messages[ready_at:].count("WATCHDOG=1")
        process.send_signal(signal.SIGTERM)
        await receive_until("STOPPING=1", within=10)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        listener.close()
        await sandbox.close()
    assert any(m.startswith("STATUS=serving on http://") for m in messages)
    assert pings >= 3  # about five in a second


def test_outside_systemd_nothing_is_sent() -> None:
    notifier = SystemdNotifier({})
    assert notifier.notify("READY=1") is False
    assert notifier.watchdog_seconds is None
    assert (
        SystemdNotifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}).watchdog_seconds is None
    )
    assert SystemdNotifier({"WATCHDOG_USEC": "30000000"}).watchdog_seconds == 30.0
