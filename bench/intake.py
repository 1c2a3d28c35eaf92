"""Intake: how fast the connector acknowledges new-order webhooks, against a bare aiohttp
handler measured in the same run.

Load: unique, validly signed `pharmacy_order_created` webhooks, replayed by wrk (one
thread, over loopback) from a file of pre-signed requests. The connector runs web-only
(`CONNECTOR_WORKER__CONCURRENCY=0`) in its own process, on a fresh SQLite file and, when
CONNECTOR_TEST_DATABASE_URL names a server, on a fresh PostgreSQL database. Each figure
is the median of `--repeat` runs. Afterwards a connector is killed with SIGKILL straight
after a run, and its stored deliveries are counted against the 200s wrk saw.

    .venv/bin/python -m bench intake [--seconds 5] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.common import empty_postgres, migrated_postgres
from bench.processes import (
    BENCH_SECRET,
    ROOT,
    Served,
    WrkResult,
    migrate_with,
    start_bare,
    start_connector,
    wrk,
)
from connector.store.database import Database
from connector.store.migrate import upgrade_to_head
from connector.store.tables import received_webhooks_table

CONCURRENCY = (1, 4, 32)


def write_requests(path: Path, count: int, tag: str) -> None:
    with path.open("w") as out:
        for n in range(count):
            body = json.dumps(
                {
                    "event_type": "pharmacy_order_created",
                    "timestamp": 1711900000 + n,
                    "payload_version": "1",
                    "data": {"uid": f"po-{tag}-{n:08d}", "status": "waiting for pharmacy"},
                },
                separators=(",", ":"),
            )
            signature = hmac.new(BENCH_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
            out.write(f"/webhooks/rxscale\tX-Webhook-Signature\t{signature}\t{body}\n")


def median_result(results: list[WrkResult]) -> dict[str, float]:
    return {
        "requests_per_second": statistics.median(r.requests_per_second for r in results),
        "p50_ms": statistics.median(r.p50_ms for r in results),
        "p99_ms": statistics.median(r.p99_ms for r in results),
        "non_2xx": sum(r.non_2xx for r in results),
        "socket_errors": sum(r.errors for r in results),
    }


async def load(
    served: Served, directory: Path, seconds: float, repeat: int, tag: str
) -> dict[str, dict[str, float]]:
    figures = {}
    for connections in CONCURRENCY:
        results = []
        for run in range(repeat):
            requests = directory / f"{tag}-{connections}-{run}.txt"
            # Enough unique requests for the fastest target at this concurrency.
            write_requests(requests, int(40_000 * seconds), f"{tag}{connections}r{run}")
            results.append(await wrk(served.url, requests, connections, seconds))
            requests.unlink()
        figures[str(connections)] = median_result(results)
    return figures


async def stored_deliveries(database_url: str) -> int:
    database = Database(database_url)
    try:
        async with database.connect() as connection:
            count = await connection.scalar(
                select(func.count()).select_from(received_webhooks_table)
            )
        return int(count or 0)
    finally:
        await database.close()


async def killed_after_load(database_url: str, directory: Path, seconds: float) -> dict[str, int]:
    """Run the load, SIGKILL the connector the moment wrk stops, count what was kept."""
    database = Database(database_url)
    await upgrade_to_head(database)
    await database.close()
    before = await stored_deliveries(database_url)
    served = await start_connector(database_url, directory, CONNECTOR_WORKER__CONCURRENCY="0")
    requests = directory / "kill.txt"
    write_requests(requests, int(40_000 * seconds), "kill")
    result = await wrk(served.url, requests, 32, seconds)
    await served.stop(kill=True)
    acknowledged = result.requests - result.non_2xx
    stored = await stored_deliveries(database_url) - before
    return {
        "acknowledged_200": acknowledged,
        "stored": stored,
        "lost": max(0, acknowledged - stored),
    }


async def run(seconds: float, repeat: int, before: Path | None = None) -> dict[str, Any]:
    report: dict[str, Any] = {"seconds_per_run": seconds, "repeat": repeat}
    with tempfile.TemporaryDirectory(prefix="connector-intake-") as tmp:
        directory = Path(tmp)
        bare = await start_bare()
        try:
            report["bare"] = await load(bare, directory, seconds, repeat, "bare")
        finally:
            await bare.stop()
        targets = {"sqlite": (f"sqlite:///{directory / 'intake.db'}", ROOT)}
        if before is not None:
            targets["sqlite_before"] = (f"sqlite:///{directory / 'before.db'}", before)
        async with migrated_postgres() as postgres_url, empty_postgres() as postgres_before:
            if postgres_url is not None:
                targets["postgresql"] = (postgres_url, ROOT)
            if postgres_before is not None and before is not None:
                await migrate_with(before, postgres_before, directory)
                targets["postgresql_before"] = (postgres_before, before)
            for name, (url, tree) in targets.items():
                served = await start_connector(
                    url, directory, tree, CONNECTOR_WORKER__CONCURRENCY="0"
                )
                try:
                    report[name] = await load(served, directory, seconds, repeat, name)
                finally:
                    await served.stop()
                share = {
                    c: round(
                        report[name][c]["requests_per_second"]
                        / report["bare"][c]["requests_per_second"],
                        4,
                    )
                    for c in report[name]
                }
                report[f"{name}_share_of_bare"] = share
            kill_url = f"sqlite:///{directory / 'kill.db'}"
            report["sigkill_sqlite"] = await killed_after_load(kill_url, directory, seconds)
            if postgres_url is not None:
                report["sigkill_postgresql"] = await killed_after_load(
                    postgres_url, directory, seconds
                )
    return report


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (throughput, latency) = plt.subplots(1, 2, figsize=(11, 4))
    for name in ("bare", "sqlite", "sqlite_before", "postgresql", "postgresql_before"):
        if name not in report:
            continue
        xs = [int(c) for c in report[name]]
        throughput.plot(
            xs, [report[name][c]["requests_per_second"] for c in report[name]], "o-", label=name
        )
        latency.plot(xs, [report[name][c]["p99_ms"] for c in report[name]], "o-", label=name)
    throughput.set(
        xscale="log",
        yscale="log",
        xlabel="concurrent connections",
        ylabel="requests/s",
        title="Intake throughput",
    )
    latency.set(
        xscale="log",
        yscale="log",
        xlabel="concurrent connections",
        ylabel="p99 ms",
        title="Acknowledgement p99",
    )
    for axis in (throughput, latency):
        axis.legend()
        axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench intake", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--plot", type=Path, help="draw a PNG here (needs matplotlib)")
    parser.add_argument(
        "--before", type=Path, help="a checkout of an earlier version, measured in the same run"
    )
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.seconds, args.repeat, args.before))
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    if args.plot:
        plot(report, args.plot)
    return 0
