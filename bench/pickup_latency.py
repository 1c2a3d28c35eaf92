"""How promptly the worker starts newly enqueued work, against its own idle poll interval.

A connector daemon on a temporary SQLite file (and on PostgreSQL when
CONNECTOR_TEST_DATABASE_URL names a server) receives signed RxScale webhooks one at a time,
with the worker idle between them. For each, the latency is the time from the webhook's 200
to the moment the worker claimed the job. The reference, measured in the same run, is the
idle poll interval (5 s): a worker that only polled would average half of it.

    .venv/bin/python bench/pickup_latency.py [--samples 50]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import migrated_postgres
from connector.devstack import LocalStack, StackOptions
from connector.domain.jobs import JobKind
from connector.logging import configure_logging
from connector.sandbox.empower_records import FulfilmentScript
from connector.store import job_queries

IDLE_SECONDS = 5.0


async def measure(
    database_url: str | None, samples: int, directory: Path, *, across_replicas: bool = False
) -> list[float]:
    """Pick-up latencies; `across_replicas`: webhooks reach a web-only replica and another
    replica's worker must be woken by PostgreSQL NOTIFY."""
    worker = {"concurrency": 4, "idle_seconds": IDLE_SECONDS, "shutdown_grace_seconds": 2}
    options = StackOptions(
        database_url=database_url,
        fulfilment=FulfilmentScript(enabled=False),
        worker={**worker, "concurrency": 0} if across_replicas else worker,
    )
    latencies: list[float] = []
    async with LocalStack(directory, options) as stack, aiohttp.ClientSession() as http:
        if across_replicas:
            await stack.add_replica(**worker)
        secret = stack.settings.rxscale.webhook_secrets[0].get_secret_value()
        url = f"{stack.daemon.url}/webhooks/rxscale"
        await asyncio.sleep(0.5)  # let the worker settle into its idle wait
        for n in range(samples):
            uid = f"po-bench-{across_replicas:d}-{n:05d}"
            # An order RxScale does not know: the job is claimed, then fails; only the claim
            # time matters here.
            body = json.dumps(
                {"event_type": "pharmacy_order_created", "timestamp": n, "data": {"uid": uid}}
            ).encode()
            signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            async with http.post(
                url,
                data=body,
                headers={"X-Webhook-Signature": signature, "Content-Type": "application/json"},
            ) as r:
                assert r.status == 200, await r.text()
                acknowledged = time.monotonic()
            while True:
                async with stack.daemon.database.engine.connect() as c:
                    [job] = [
                        j
                        for j in await job_queries.list_jobs(c, order_uid=uid)
                        if j.kind is JobKind.ACCEPT_ORDER
                    ]
                if job.attempts > 0:
                    latencies.append(time.monotonic() - acknowledged)
                    break
                if time.monotonic() - acknowledged > 2 * IDLE_SECONDS:
                    raise RuntimeError(f"job for {uid} was not picked up")
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.2)  # idle again before the next one
    return latencies


def report(name: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    worst = ordered[-1]
    poll_expectation = IDLE_SECONDS / 2
    return (
        f"| {name} | {len(ordered)} | {p50 * 1000:.1f} ms | {p95 * 1000:.1f} ms | "
        f"{worst * 1000:.1f} ms | {p50 / poll_expectation:.4f} | {worst / IDLE_SECONDS:.4f} |"
    )


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    print(
        "| database | samples | p50 pickup | p95 pickup | worst | p50 ÷ (poll/2) | worst ÷ poll |"
    )
    print("|---|---|---|---|---|---|---|")
    async with migrated_postgres() as pg_url:
        targets: list[tuple[str, str | None, bool]] = [("SQLite, one process", None, False)]
        if pg_url:
            targets.append(("PostgreSQL, same replica", pg_url, False))
            targets.append(("PostgreSQL, other replica (NOTIFY)", pg_url, True))
        for name, url, across in targets:
            with tempfile.TemporaryDirectory() as scratch:
                latencies = await measure(url, args.samples, Path(scratch), across_replicas=across)
                print(report(name, latencies), flush=True)
    return 0


if __name__ == "__main__":
    # The benchmark's orders are unknown to RxScale on purpose (only the claim matters), so
    # their jobs fail; keep that noise out of the report.
    configure_logging("critical", "json")
    raise SystemExit(asyncio.run(main()))
