"""`connector check`: is this installation able to work? Each check ok or failed, and why."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from connector.commands.output import EXIT_FAILED, EXIT_OK
from connector.domain.rxscale import RxScaleEventType
from connector.empower.client import EmpowerClient
from connector.rxscale.client import RxScaleClient
from connector.settings import Settings
from connector.store.database import Database
from connector.store.migrate import current_revisions, head_revisions
from connector.wiring import empower_client, rxscale_client

# Without these the connector never hears of new orders or cancellations.
REQUIRED_EVENTS = (RxScaleEventType.ORDER_CREATED, RxScaleEventType.ORDER_UPDATED)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "check", help="check the configuration, the database and both partners"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per check")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    checks = [Check("configuration", True, "every setting is valid")]
    checks.append(await _attempt("database", lambda: _database(settings)))
    rxscale, empower = rxscale_client(settings), empower_client(settings)
    try:
        checks.append(await _attempt("rxscale api", lambda: _rxscale_health(rxscale)))
        checks.append(await _attempt("rxscale webhooks", lambda: _subscriptions(rxscale, settings)))
        checks.append(await _attempt("empower api", lambda: _empower(empower)))
    finally:
        await rxscale.close()
        await empower.close()
    if args.json:
        for check in checks:
            print(json.dumps(asdict(check)))
    else:
        for check in checks:
            print(f"{'ok' if check.ok else 'FAILED':7} {check.name:17} {check.detail}")
    return EXIT_OK if all(check.ok for check in checks) else EXIT_FAILED


async def _attempt(name: str, probe: Callable[[], Awaitable[Check | str]]) -> Check:
    """A probe returns its detail (ok), a Check of its own, or raises (failed: the reason)."""
    try:
        result = await probe()
    except Exception as exc:  # every failure is reported, none is fatal to the others
        describe = getattr(exc, "describe", None)
        reason = describe() if callable(describe) else f"{type(exc).__name__}: {exc}"
        return Check(name, False, str(reason))
    return result if isinstance(result, Check) else Check(name, True, result)


async def _database(settings: Settings) -> Check:
    database = Database(settings.database_url)
    try:
        if database.sqlite_file is not None and not database.sqlite_file.exists():
            return Check("database", False, f"{database.sqlite_file} does not exist yet")
        current, expected = await current_revisions(database), head_revisions()
    finally:
        await database.close()
    if current != expected:
        found = ", ".join(sorted(current)) or "none"
        return Check(
            "database",
            False,
            f"schema at {found}, needs {', '.join(sorted(expected))}; run `connector migrate`",
        )
    return Check(
        "database", True, f"{database.describe()} at revision {', '.join(sorted(current))}"
    )


async def _rxscale_health(client: RxScaleClient) -> str:
    await client.health()
    return "GET /health/ answered with the configured key"


async def _subscriptions(client: RxScaleClient, settings: Settings) -> Check:
    subscribed = {s.notification_type for s in await client.list_webhooks()}
    needed = list(REQUIRED_EVENTS)
    if settings.stock.sync_interval_seconds:
        needed.append(RxScaleEventType.SKU_STOCK_UPDATED)
    missing = [event.value for event in needed if event.value not in subscribed]
    if missing:
        return Check(
            "rxscale webhooks",
            False,
            f"no subscription for {', '.join(missing)}; run `connector webhooks register`",
        )
    return Check("rxscale webhooks", True, f"subscribed to {', '.join(sorted(subscribed))}")


async def _empower(client: EmpowerClient) -> str:
    products = await client.list_products()
    return f"authenticated; {len(products)} products listed"
