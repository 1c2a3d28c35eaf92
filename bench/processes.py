"""Processes the benchmarks measure: the connector (`connector run`) and the bare aiohttp
reference, each in its own process, and wrk as the load generator."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
BENCH_SECRET = "whsec_benchmark_secret_0123456789"  # noqa: S105 (a fixture)
BENCH_HOOK_KEY = "benchmark-empower-hook-key-0123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Served:
    process: asyncio.subprocess.Process
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self, *, kill: bool = False) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            await self.process.wait()


async def wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(400):
            if process.returncode is not None:
                raise RuntimeError(f"{url}: the process exited ({process.returncode})")
            try:
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not become healthy")


async def start_bare() -> Served:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bench" / "bare_server.py"), str(port)
    )
    served = Served(process, port)
    await wait_healthy(served.url, process)
    return served


def connector_env(database_url: str, port: int, tree: Path = ROOT, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env.update(
        PYTHONPATH=str(tree),
        CONNECTOR_DATABASE_URL=database_url,
        CONNECTOR_LOG_FORMAT="json",
        CONNECTOR_LOG_LEVEL="warning",
        CONNECTOR_HTTP__PORT=str(port),
        CONNECTOR_RECONCILE__INTERVAL_SECONDS="0",
        CONNECTOR_WORKER__REDRIVE_INTERVAL_SECONDS="0",
        CONNECTOR_RETENTION__DAYS="0",
        CONNECTOR_RXSCALE__BASE_URL="http://127.0.0.1:9/api",
        CONNECTOR_RXSCALE__API_KEY="rxs-bench-api-key",
        CONNECTOR_RXSCALE__WEBHOOK_SECRETS=BENCH_SECRET,
        CONNECTOR_EMPOWER__BASE_URL="http://127.0.0.1:9",
        CONNECTOR_EMPOWER__API_KEY="emp-bench-api-key",
        CONNECTOR_EMPOWER__WEBHOOK_KEYS=BENCH_HOOK_KEY,
    )
    env.update(extra)
    return env


async def start_connector(
    database_url: str, directory: Path, tree: Path = ROOT, **extra: str
) -> Served:
    """`connector run` from `tree` (another checkout measures an earlier version)."""
    port = free_port()
    log = (directory / f"connector-{port}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "connector",
        "run",
        env=connector_env(database_url, port, tree, **extra),
        cwd=directory,
        stdout=log,
        stderr=log,
    )
    served = Served(process, port)
    await wait_healthy(served.url, process)
    return served


async def migrate_with(tree: Path, database_url: str, directory: Path) -> None:
    """`connector migrate` from `tree`: an earlier version needs its own schema."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "connector",
        "migrate",
        env=connector_env(database_url, 0, tree),
        cwd=directory,
    )
    if await process.wait() != 0:
        raise RuntimeError(f"connector migrate from {tree} failed")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    non_2xx: int
    errors: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"not a wrk latency: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        requests=requests,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(g) for g in errors.groups()) if errors else 0,
        requests_per_second=rate,
        p50_ms=p50,
        p99_ms=p99,
    )


async def wrk(url: str, requests_file: Path, connections: int, seconds: float) -> WrkResult:
    process = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-s",
        str(ROOT / "bench" / "wrk_requests.lua"),
        url,
        "--",
        str(requests_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(output.decode())
    return parse_wrk(output.decode())
