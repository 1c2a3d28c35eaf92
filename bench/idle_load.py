"""What an idle connector costs the database, against a worker that polls for promptness.

An idle daemon (no orders) is left alone for a while and every SQL statement it sends is
counted. The reference, measured in the same run on the same database, is the same daemon
set to poll every 20 ms: about the interval pure polling needs to match the pick-up latency
that notifications give (bench/pickup_latency.py: p50 about 10 ms).

    .venv/bin/python bench/idle_load.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import migrated_postgres
from connector.devstack import LocalStack, StackOptions
from connector.logging import configure_logging

REFERENCE_POLL_SECONDS = 0.02


async def statements_per_minute(
    database_url: str | None, idle_seconds: float, span: float
) -> float:
    options = StackOptions(database_url=database_url)
    options.worker = {**options.worker, "idle_seconds": idle_seconds}
    with tempfile.TemporaryDirectory() as scratch:
        async with LocalStack(Path(scratch), options) as stack:
            await asyncio.sleep(1.0)  # past start-up and its migrations check
            count = [0]

            def counted(*_args: Any) -> None:
                count[0] += 1

            engine = stack.daemon.database.engine.sync_engine
            event.listen(engine, "before_cursor_execute", counted)
            await asyncio.sleep(span)
            event.remove(engine, "before_cursor_execute", counted)
    return count[0] * 60.0 / span


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    print(
        "| database | idle statements/min (default, 5 s poll + wake-ups) | 20 ms poller | ratio |"
    )
    print("|---|---|---|---|")
    async with migrated_postgres() as pg_url:
        targets = [("SQLite", None)] + ([("PostgreSQL", pg_url)] if pg_url else [])
        for name, url in targets:
            ours = await statements_per_minute(url, 5.0, args.seconds)
            reference = await statements_per_minute(url, REFERENCE_POLL_SECONDS, args.seconds)
            print(f"| {name} | {ours:.0f} | {reference:.0f} | {ours / reference:.4f} |", flush=True)
    return 0


if __name__ == "__main__":
    configure_logging("critical", "json")
    raise SystemExit(asyncio.run(main()))
