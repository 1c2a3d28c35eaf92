"""`connector orders …`: what the connector knows of an order, and re-running one."""

from __future__ import annotations

import argparse
import json
from typing import Any

from connector.commands.output import EXIT_OK, json_lines, refuse
from connector.domain.clock import SystemClock
from connector.domain.lifecycle import OrderState
from connector.domain.records import OrderHistoryRow, OrderRecord
from connector.receive.operator import NotRerunnable, rerun_order
from connector.settings import StorageSettings
from connector.store import order_queries, orders
from connector.store.database import Database
from connector.text import table


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("orders", help="list, show and re-run orders")
    sub = parser.add_subparsers(dest="orders_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="orders the connector knows, newest last")
    listing.add_argument(
        "--state", choices=[s.value for s in OrderState], help="only orders in this state"
    )
    listing.add_argument("--limit", type=int, default=200)
    listing.add_argument("--json", action="store_true", help="one JSON object per order")
    show = sub.add_parser("show", help="one order's mapping and its full history")
    show.add_argument("uid", help="the RxScale pharmacy order uid")
    show.add_argument("--json", action="store_true")
    retry = sub.add_parser(
        "retry", help="re-run an order that was put on hold, once its cause is fixed"
    )
    retry.add_argument("uid", help="the RxScale pharmacy order uid")


async def run(args: argparse.Namespace, settings: StorageSettings) -> int:
    database = Database(settings.database_url)
    try:
        match args.orders_command:
            case "list":
                return await _list(database, args)
            case "show":
                return await _show(database, args)
            case "retry":
                return await _retry(database, args)
    finally:
        await database.close()
    raise AssertionError(args.orders_command)


def record_json(record: OrderRecord) -> dict[str, Any]:
    return {
        "rxscale_uid": record.rxscale_uid,
        "state": record.state.value,
        "placement_generation": record.placement_generation,
        "empower_patient_token": record.empower_patient_token,
        "empower_prescription_tokens": list(record.empower_prescription_tokens),
        "empower_order_id": record.empower_order_id,
        "empower_request_id": record.empower_request_id,
        "empower_status": record.empower_status,
        "tracking_number": record.tracking.tracking_number if record.tracking else None,
        "carrier": record.tracking.carrier if record.tracking else None,
        "tracking_url": record.tracking.tracking_url if record.tracking else None,
        "hold_reason": record.hold_reason,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
    }


def history_json(row: OrderHistoryRow) -> dict[str, Any]:
    return {
        "at": row.occurred_at.isoformat(),
        "kind": row.kind,
        "from_state": row.from_state.value if row.from_state else None,
        "to_state": row.to_state.value if row.to_state else None,
        "detail": row.detail,
    }


async def _list(database: Database, args: argparse.Namespace) -> int:
    state = OrderState(args.state) if args.state else None
    async with database.engine.connect() as connection:
        records = await order_queries.list_orders(connection, state=state, limit=args.limit)
    if args.json:
        json_lines(record_json(record) for record in records)
        return EXIT_OK
    rows: list[tuple[str, ...]] = [
        ("RxScale order", "state", "Empower order", "tracking", "updated")
    ]
    rows += [
        (
            r.rxscale_uid,
            r.state.value,
            r.empower_order_id or "-",
            r.tracking.tracking_number if r.tracking else "-",
            r.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
        for r in records
    ]
    print(table(rows))
    return EXIT_OK


async def _show(database: Database, args: argparse.Namespace) -> int:
    async with database.engine.connect() as connection:
        record = await orders.get_order(connection, args.uid)
        history = await order_queries.order_history(connection, args.uid) if record else []
    if record is None:
        return refuse(f"no order {args.uid!r} is known")
    if args.json:
        print(json.dumps({**record_json(record), "history": [history_json(h) for h in history]}))
        return EXIT_OK
    for key, value in record_json(record).items():
        print(f"{key:28} {value if value not in (None, []) else '-'}")
    print("\nhistory:")
    for row in history:
        move = (
            f"{row.from_state.value if row.from_state else ''} -> {row.to_state.value}"
            if row.to_state
            else ""
        )
        detail = json.dumps(row.detail) if row.detail else ""
        print(f"  {row.occurred_at:%Y-%m-%d %H:%M:%S}  {row.kind:24} {move:32} {detail}")
    return EXIT_OK


async def _retry(database: Database, args: argparse.Namespace) -> int:
    try:
        generation = await rerun_order(database, args.uid, SystemClock().now())
    except NotRerunnable as exc:
        return refuse(str(exc))
    print(f"order {args.uid} goes through intake again (placement generation {generation})")
    return EXIT_OK
