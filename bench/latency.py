"""End-to-end latency: from RxScale sending `pharmacy_order_created` to the order existing
at Empower, with no backlog and partners that answer at once (the sandboxes, in-process).

Orders are pushed one at a time; for each, the time from the webhook's emission to the
moment Empower's sandbox holds the order is taken (polled every millisecond). The
**reference**, measured in the same run, is one HTTP round trip to the sandbox over
loopback: the path needs, at the least, the webhook, RxScale's GET and PATCH, and
Empower's three POSTs.

    .venv/bin/python -m bench latency [--samples 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from connector.devstack import LocalStack, StackOptions, wait_until
from connector.logging import configure_logging
from connector.sandbox.empower_records import FulfilmentScript


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def round_trip(url: str, samples: int) -> list[float]:
    times = []
    async with aiohttp.ClientSession() as http:
        for _ in range(samples):
            started = time.perf_counter()
            async with http.get(url) as response:
                await response.read()
            times.append(time.perf_counter() - started)
    return times


async def measure(samples: int) -> dict[str, float]:
    options = StackOptions(fulfilment=FulfilmentScript(enabled=False))
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as directory:
        async with LocalStack(Path(directory), options) as stack:
            reference = await round_trip(f"{stack.daemon.url}/healthz", samples)
            empower = stack.sandbox.empower
            for _ in range(samples):
                await asyncio.sleep(0.05)  # no backlog: each order alone
                started = time.perf_counter()
                [uid] = stack.push_orders(1)

                async def placed(uid: str = uid) -> bool:
                    return bool(empower.orders_for(uid))  # the first placement's external id

                assert await wait_until(placed, within=10, interval=0.001)
                latencies.append(time.perf_counter() - started)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    ref = statistics.median(reference)
    return {
        "samples": samples,
        "p50_ms": round(p50 * 1000, 1),
        "p99_ms": round(p99 * 1000, 1),
        "reference_round_trip_ms": round(ref * 1000, 2),
        "p50_in_round_trips": round(p50 / ref, 1),
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    configure_logging("warning", "json")
    print(json.dumps(await measure(args.samples), indent=2))
    return 0
