"""`connector demo`: push orders through both sandbox partners and watch them complete."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TextIO

from connector.devstack import LocalStack, StackOptions
from connector.domain.lifecycle import AT_REST_STATES, OrderState
from connector.domain.records import OrderRecord
from connector.text import table

DONE_STATES = frozenset({OrderState.COMPLETED, OrderState.DELIVERED})


async def run_demo(
    orders: int, *, within: float, out: TextIO = sys.stdout, keep: Path | None = None
) -> int:
    with tempfile.TemporaryDirectory(prefix="connector-demo-") as scratch:
        directory = keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        out.write(f"Starting the sandbox partners and the connector (SQLite in {directory})\n")
        async with LocalStack(directory, StackOptions()) as stack:
            out.write(
                f"  RxScale sandbox  {stack.sandbox.rxscale_root}\n"
                f"  Empower sandbox  {stack.sandbox.empower_url}\n"
                f"  connector        {stack.daemon.url}\n"
                f"Placing {orders} order(s) at RxScale; each reaches the connector by webhook.\n"
            )
            uids = stack.push_orders(orders)
            records = await _watch(stack, uids, within, out)
            rxscale_status = {uid: stack.sandbox.rxscale.orders[uid].status for uid in uids}
        out.write("\n" + _table(uids, records, rxscale_status) + "\n")
        done = sum(1 for r in records.values() if r.state in DONE_STATES)
        if done == len(uids):
            out.write(f"All {done} orders completed at RxScale with tracking.\n")
            return 0
        out.write(
            f"{len(uids) - done} of {len(uids)} orders did not complete within {within:g}s.\n"
        )
        return 1


async def _watch(
    stack: LocalStack, uids: list[str], within: float, out: TextIO
) -> dict[str, OrderRecord]:
    interactive = out.isatty()
    deadline = time.monotonic() + within
    last = ""
    while True:
        records = await stack.records(uids)
        counts = Counter(r.state.value for r in records.values())
        summary = ", ".join(f"{state} {n}" for state, n in sorted(counts.items()))
        line = "  progress: " + (summary or "waiting for the first webhook")
        if interactive:
            out.write("\r" + line.ljust(90))
            out.flush()
        elif line != last:
            out.write(line + "\n")
        last = line
        settled = len(records) == len(uids) and all(
            r.state in AT_REST_STATES for r in records.values()
        )
        if settled or time.monotonic() >= deadline:
            if interactive:
                out.write("\n")
            return records
        await asyncio.sleep(0.2)


def _table(uids: list[str], records: dict[str, OrderRecord], rxscale_status: dict[str, str]) -> str:
    rows: list[tuple[str, ...]] = [
        ("RxScale order", "Empower order", "connector state", "RxScale status", "tracking")
    ]
    for uid in uids:
        record = records.get(uid)
        rows.append(
            (
                uid,
                (record.empower_order_id if record else None) or "-",
                record.state.value if record else "not received",
                rxscale_status.get(uid, "?"),
                (record.tracking.tracking_number if record and record.tracking else None) or "-",
            )
        )
    return table(rows)
