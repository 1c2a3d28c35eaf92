"""The by-hand fuzz run: many hostile requests against a real `connector run` process.

The connector runs web-only on a fresh SQLite file, logging JSON to a file. The requests
come from `bench/hostile.py` (every kind in turn, seeded), plus slow clients that open a
connection and send part of a request line or a body, then nothing. Afterwards:

- answers by kind and status; 5xx and dropped answers must be 0;
- no 2xx for a request without valid credentials, and no more stored deliveries than
  authentic requests answered 2xx;
- error-level log lines and tracebacks in the daemon's log must be 0;
- the slow clients were disconnected by the server within its timeouts;
- the daemon's RSS before and after.

    .venv/bin/python -m bench.fuzz [--requests 100000] [--concurrency 16] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hostile import KINDS, Credentials, HostileRequest, generate, send
from bench.processes import free_port, rss_mib

CREDENTIALS = Credentials("whsec_fuzz_run_secret_0123456789", "empower-fuzz-run-key-0123456789")
IDLE_TIMEOUT = 5.0


async def start_connector(directory: Path, port: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env.update(
        CONNECTOR_DATABASE_URL=f"sqlite:///{directory / 'connector.db'}",
        CONNECTOR_LOG_FORMAT="json",
        CONNECTOR_LOG_LEVEL="info",
        CONNECTOR_HTTP__PORT=str(port),
        CONNECTOR_HTTP__IDLE_TIMEOUT_SECONDS=str(IDLE_TIMEOUT),
        CONNECTOR_HTTP__READ_TIMEOUT_SECONDS=str(IDLE_TIMEOUT),
        CONNECTOR_WORKER__CONCURRENCY="0",
        CONNECTOR_RECONCILE__INTERVAL_SECONDS="0",
        CONNECTOR_RXSCALE__BASE_URL="http://127.0.0.1:9/api",
        CONNECTOR_RXSCALE__API_KEY="rxs-fuzz-api-key",
        CONNECTOR_RXSCALE__WEBHOOK_SECRETS=CREDENTIALS.rxscale_secret,
        CONNECTOR_EMPOWER__BASE_URL="http://127.0.0.1:9",
        CONNECTOR_EMPOWER__API_KEY="emp-fuzz-api-key",
        CONNECTOR_EMPOWER__WEBHOOK_KEYS=CREDENTIALS.empower_key,
    )
    log = (directory / "connector.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "connector", "run", env=env, cwd=directory, stderr=log, stdout=log
    )
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return process
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("the connector did not start; see its log")


async def slow_client(port: int, partial: bytes) -> float:
    """Send part of a request, then nothing; how long the server kept the connection."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(partial)
    await writer.drain()
    try:
        async with asyncio.timeout(IDLE_TIMEOUT * 6):
            await reader.read()
    except TimeoutError:
        pass
    writer.close()
    return time.monotonic() - started


SLOW = [
    b"",  # connects and says nothing
    b"POST /webhooks/rxscale HT",  # a partial request line
    b"POST /webhooks/rxscale HTTP/1.1\r\nHost: x\r\nX-A: ",  # partial headers
    b"POST /webhooks/empower HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Authorization: Bearer " + CREDENTIALS.empower_key.encode() + b"\r\n"
    b"Content-Length: 100\r\n\r\n{",  # announces a body, sends one byte of it
]


async def run(requests: int, concurrency: int, seed: int) -> dict[str, object]:
    directory = Path(tempfile.mkdtemp(prefix="connector-fuzz-"))
    port = free_port()
    process = await start_connector(directory, port)
    rss_before = rss_mib(process.pid)
    answers: Counter[tuple[str, int]] = Counter()
    unauthenticated_2xx = authentic_2xx = 0
    queue: asyncio.Queue[HostileRequest] = asyncio.Queue(maxsize=concurrency * 4)

    async def produce() -> None:
        rng = random.Random(seed)
        for n in range(requests):
            await queue.put(generate(rng, KINDS[n % len(KINDS)], CREDENTIALS))
        for _ in range(concurrency):
            await queue.put(HostileRequest("stop", b"", b""))

    async def consume() -> None:
        nonlocal unauthenticated_2xx, authentic_2xx
        while (request := await queue.get()).kind != "stop":
            status = await send("127.0.0.1", port, request)
            answers[(request.kind, status)] += 1
            if 200 <= status < 300:
                if request.authentic:
                    authentic_2xx += 1
                else:
                    unauthenticated_2xx += 1

    started = time.monotonic()
    slow = asyncio.gather(*(slow_client(port, partial) for partial in SLOW))
    await asyncio.gather(produce(), *(consume() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    held_seconds = await slow
    rss_after = rss_mib(process.pid)
    process.terminate()
    await process.wait()
    with sqlite3.connect(directory / "connector.db") as db:
        stored = db.execute("SELECT count(*) FROM received_webhooks").fetchone()[0]
    log_lines = (directory / "connector.log").read_text(errors="replace").splitlines()
    levels = Counter(json.loads(line).get("level") for line in log_lines if line.startswith("{"))
    tracebacks = sum(1 for line in log_lines if "Traceback" in line or '"exception"' in line)
    by_status: Counter[int] = Counter()
    for (_, status), count in answers.items():
        by_status[status] += count
    return {
        "requests": requests,
        "seconds": round(elapsed, 1),
        "requests_per_second": round(requests / elapsed),
        "by_status": dict(sorted(by_status.items())),
        "by_kind": {
            kind: {str(s): n for (k, s), n in sorted(answers.items()) if k == kind}
            for kind in KINDS
        },
        "server_errors": sum(n for s, n in by_status.items() if s >= 500),
        "no_answer": by_status.get(0, 0),
        "unauthenticated_2xx": unauthenticated_2xx,
        "authentic_2xx": authentic_2xx,
        "stored_deliveries": stored,
        "log_levels": dict(levels),
        "tracebacks_in_log": tracebacks,
        "slow_clients_held_seconds": [round(s, 1) for s in held_seconds],
        "rss_mib_before": round(rss_before, 1),
        "rss_mib_after": round(rss_after, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    report = asyncio.run(run(args.requests, args.concurrency, args.seed))
    print(json.dumps(report, indent=2))
    failed = (
        report["server_errors"]
        or report["no_answer"]
        or report["unauthenticated_2xx"]
        or report["tracebacks_in_log"]
        or int(report["stored_deliveries"]) > int(report["authentic_2xx"])  # type: ignore[call-overload]
        or dict(report["log_levels"]).get("error")  # type: ignore[call-overload]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
