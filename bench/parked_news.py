"""How long a new order takes to reach `in-progress` while a flood of Empower news about
orders nobody knows waits in the queue, against the same with no flood, in one run.

Each flood event is authentic (Empower's key) but names a request_id no order has; each
becomes a job that waits for its order and is retried meanwhile. Parked at a lower
priority, it must not hold up the live order.

    .venv/bin/python -m bench.parked_news [--flood 4800] [--samples 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.devstack import LocalStack, StackOptions
from connector.domain.lifecycle import OrderState
from connector.logging import configure_logging
from connector.sandbox.empower_records import FulfilmentScript


async def flood(stack: LocalStack, events: int) -> None:
    key = stack.settings.empower.webhook_keys[0].get_secret_value()
    url = f"{stack.daemon.url}/webhooks/empower"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:

        async def post(n: int) -> None:
            body = {
                "request_id": f"fill_request_nobody_{n:06d}",
                "callback_type": "ORDER",
                "status": "success",
                "details": {"status": "PROCESSING"},
            }
            async with http.post(url, data=json.dumps(body), headers=headers) as response:
                assert response.status == 200, response.status

        for start in range(0, events, 50):
            await asyncio.gather(*(post(n) for n in range(start, min(start + 50, events))))


async def time_to_in_progress(stack: LocalStack) -> float:
    started = time.monotonic()
    [uid] = stack.push_orders(1)
    records = await stack.wait_for_states([uid], {OrderState.IN_PROGRESS}, within=600)
    assert records[uid].state is OrderState.IN_PROGRESS
    return time.monotonic() - started


async def measure(flood_size: int, samples: int) -> list[float]:
    options = StackOptions(
        fulfilment=FulfilmentScript(enabled=False),
        worker={"concurrency": 4, "backoff_base_seconds": 0.5, "backoff_max_seconds": 5},
    )
    with tempfile.TemporaryDirectory() as directory:
        async with LocalStack(Path(directory), options) as stack:
            if flood_size:
                await flood(stack, flood_size)
            return [await time_to_in_progress(stack) for _ in range(samples)]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--flood", type=int, default=4800)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    configure_logging("warning", "json")
    quiet = await measure(0, args.samples)
    flooded = await measure(args.flood, args.samples)
    report = {
        "flood_events": args.flood,
        "quiet_median_seconds": round(statistics.median(quiet), 3),
        "flooded_median_seconds": round(statistics.median(flooded), 3),
        "flooded_max_seconds": round(max(flooded), 3),
        "ratio_flooded_to_quiet": round(statistics.median(flooded) / statistics.median(quiet), 2),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
