"""Real `connector` processes for the replica tests: start, wait ready, SIGKILL, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from connector.devstack import wait_until
from connector.sandbox.balancer import RoundRobinBalancer
from connector.sandbox.empower_records import WebhookTarget
from connector.sandbox.empower_server import EmpowerSandbox
from connector.sandbox.runner import RunningSandbox, serve, start_sandbox
from connector.sandbox.rxscale_server import RxScaleSandbox

CONNECTOR = [sys.executable, "-m", "connector"]
EMPOWER_HOOK_KEY = "replica-test-hook-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env.update(extra)
    return env


async def run_connector(
    *args: str, env: dict[str, str], cwd: Path | None = None, within: float = 60
) -> tuple[int, str, str]:
    """`connector …` as a real process: exit status, standard output, standard error."""
    process = await asyncio.create_subprocess_exec(
        *CONNECTOR,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=within)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def wait_for_http(
    url: str, *, within: float, headers: Mapping[str, str] | None = None
) -> bool:
    """Until `url` answers 200 (a process coming up), or `within` seconds pass."""
    async with aiohttp.ClientSession() as session:

        async def answered() -> bool:
            try:
                async with session.get(url, headers=headers) as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        return await wait_until(answered, within=within, interval=0.1)


@dataclass
class Replica:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    cwd: Path
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *CONNECTOR,
                "run",
                env=self.env,
                cwd=self.cwd,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        self.starts += 1

    async def wait_ready(self, within: float = 30) -> None:
        if not await wait_for_http(f"{self.url}/readyz", within=within):
            raise AssertionError(f"{self.name} never became ready:\n{self.log_tail()}")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self, within: float = 40) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout=within)

    def events(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text().splitlines() if self.log_path.exists() else []
        return [json.loads(line) for line in lines if line.startswith("{")]

    def log_tail(self, count: int = 30) -> str:
        return "\n".join(self.log_path.read_text().splitlines()[-count:])


@dataclass
class Cluster:
    """Sandbox partners, a balancer, and N replicas on one PostgreSQL database."""

    sandbox: RunningSandbox
    balancer: RoundRobinBalancer
    balancer_url: str
    replicas: list[Replica]
    _balancer_runner: web.AppRunner
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    async def start(
        cls,
        directory: Path,
        database_url: str,
        *,
        replicas: int = 3,
        empower: EmpowerSandbox | None = None,
        rxscale: RxScaleSandbox | None = None,
        worker: dict[str, str] | None = None,
        rate_limited: bool = False,
    ) -> Cluster:
        """`rate_limited`: the replicas keep RxScale's documented limits (10/s, 600/min),
        together; otherwise their limiters are off."""
        sandbox = await start_sandbox(rxscale or RxScaleSandbox(), empower or EmpowerSandbox())
        ports = [free_port() for _ in range(replicas)]
        balancer = RoundRobinBalancer([f"http://127.0.0.1:{p}" for p in ports])
        runner, balancer_url = await serve(balancer.app(), "127.0.0.1", 0)
        subscription = sandbox.rxscale.subscribe(
            f"{balancer_url}/webhooks/rxscale", "pharmacy_order_created"
        )
        sandbox.empower.webhook = WebhookTarget(
            url=f"{balancer_url}/webhooks/empower", key=EMPOWER_HOOK_KEY
        )
        settings = {
            "CONNECTOR_DATABASE_URL": database_url,
            "CONNECTOR_RXSCALE__BASE_URL": sandbox.rxscale_url,
            "CONNECTOR_RXSCALE__API_KEY": sandbox.rxscale.api_key,
            "CONNECTOR_RXSCALE__WEBHOOK_SECRETS": subscription.signing_secret,
            "CONNECTOR_EMPOWER__BASE_URL": sandbox.empower_url,
            "CONNECTOR_EMPOWER__API_KEY": sandbox.empower.api_key,
            "CONNECTOR_EMPOWER__WEBHOOK_KEYS": EMPOWER_HOOK_KEY,
            "CONNECTOR_RXSCALE__RATE_LIMIT_PER_SECOND": "10" if rate_limited else "0",
            "CONNECTOR_RXSCALE__RATE_LIMIT_PER_MINUTE": "600" if rate_limited else "0",
            "CONNECTOR_WORKER__LEASE_SECONDS": "3",
            "CONNECTOR_WORKER__BACKOFF_BASE_SECONDS": "0.1",
            "CONNECTOR_WORKER__BACKOFF_MAX_SECONDS": "1",
            "CONNECTOR_WORKER__RETRY_FOR_SECONDS": "300",
            "CONNECTOR_WORKER__IDLE_SECONDS": "2",
            "CONNECTOR_LOG_FORMAT": "json",
            **{f"CONNECTOR_WORKER__{k.upper()}": v for k, v in (worker or {}).items()},
        }
        code, out, err = await run_connector("migrate", env=base_env(**settings), cwd=directory)
        assert code == 0, out + err
        members = [
            Replica(
                name=f"replica-{n}",
                port=port,
                env=base_env(**settings, CONNECTOR_HTTP__PORT=str(port)),
                log_path=directory / f"replica-{n}.log",
                cwd=directory,
            )
            for n, port in enumerate(ports)
        ]
        cluster = cls(sandbox, balancer, balancer_url, members, runner)
        for replica in members:
            await replica.start()
        for replica in members:
            await replica.wait_ready()
        return cluster

    async def close(self) -> None:
        for replica in self.replicas:
            if replica.process is not None and replica.process.returncode is None:
                replica.process.kill()
                await replica.process.wait()
        await self._balancer_runner.cleanup()
        await self.sandbox.close()
