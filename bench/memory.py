"""Memory over a long run: the connector's RSS while 20,000 orders go through the whole
relay (intake, placement, in-progress, shipment, completion, delivery) against the
sandbox partners, which answer at once and enforce no rate limit.

The connector runs in its own process on SQLite; the partners run in this one, so their
records do not count. Orders come in waves; after each wave has completed at RxScale the
connector's RSS is read. The **reference** is the RSS after warm-up (the first 2,000
orders): the figure is how much the RSS grew beyond it by the end, and the largest
reading of the run. Idle RSS, read before the first order, is reported too.

    .venv/bin/python -m bench memory [--orders 20000] [--wave 250] [--json FILE] [--plot PNG]
    .venv/bin/python -m bench memory --replot docs/figures/memory.json --plot PNG
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.processes import rss_mib
from connector.devstack import wait_until
from connector.sandbox.empower_records import FulfilmentScript
from connector.sandbox.empower_server import EmpowerSandbox
from connector.sandbox.rxscale_server import RxScaleSandbox
from tests.e2e.processes import Cluster

WARM_UP = 2000


async def run(orders: int, wave: int, directory: Path) -> dict[str, Any]:
    cluster = await Cluster.start(
        directory,
        f"sqlite:///{directory / 'connector.db'}",
        replicas=1,
        rxscale=RxScaleSandbox(),
        empower=EmpowerSandbox(
            fulfilment=FulfilmentScript(processing_after=0.02, ship_after=0.05, deliver_after=0.1)
        ),
        worker={"concurrency": "8"},
    )
    try:
        [replica] = cluster.replicas
        assert replica.process is not None
        pid = replica.process.pid
        rxscale = cluster.sandbox.rxscale
        await asyncio.sleep(5)
        idle = rss_mib(pid)
        samples: list[tuple[int, float]] = []
        began = time.monotonic()
        done = 0
        while done < orders:
            uids = [rxscale.add_order() for _ in range(min(wave, orders - done))]

            async def completed(uids: list[str] = uids) -> bool:
                return all(rxscale.orders[uid].status == "completed" for uid in uids)

            if not await wait_until(completed, within=600, interval=0.1):
                raise RuntimeError(f"a wave did not complete:\n{replica.log_tail()}")
            done += len(uids)
            samples.append((done, rss_mib(pid)))
        elapsed = time.monotonic() - began
        warm = next(rss for count, rss in samples if count >= min(WARM_UP, orders))
        final = samples[-1][1]
        return {
            "orders": orders,
            "seconds": round(elapsed, 1),
            "orders_per_second": round(orders / elapsed, 1),
            "idle_rss_mib": round(idle, 1),
            "rss_after_warm_up_mib": round(warm, 1),
            "rss_at_end_mib": round(final, 1),
            "largest_rss_mib": round(max(rss for _, rss in samples), 1),
            "growth_after_warm_up": round((final - warm) / warm, 3),
            "samples": [[count, round(rss, 1)] for count, rss in samples],
        }
    finally:
        await cluster.close()


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.6))
    counts = [count for count, _ in result["samples"]]
    axis.plot(counts, [rss for _, rss in result["samples"]], "o-", markersize=3, label="RSS")
    axis.axhline(result["idle_rss_mib"], linestyle=":", color="grey", label="idle")
    warm = result["rss_after_warm_up_mib"]
    axis.axhline(warm * 1.1, linestyle="--", color="red", label="10 % over warm-up")
    axis.axvline(WARM_UP, linestyle=":", color="black", label="end of warm-up")
    axis.set(
        xlabel="orders through the relay",
        ylabel="RSS MiB",
        title="Connector RSS over a long run",
        ylim=(0, None),
    )
    axis.legend(loc="lower right")
    axis.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--wave", type=int, default=250)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path, help="draw a PNG here (needs matplotlib)")
    parser.add_argument("--replot", type=Path, help="draw from this report instead of running")
    args = parser.parse_args()
    if args.replot is not None:
        if args.plot is None:
            parser.error("--replot needs --plot")
        plot(json.loads(args.replot.read_text()), args.plot)
        return 0
    with tempfile.TemporaryDirectory() as name:
        result = await run(args.orders, args.wave, Path(name))
    summary = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(summary, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.plot is not None:
        plot(result, args.plot)
    return 0
