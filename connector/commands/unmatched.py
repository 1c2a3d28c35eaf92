"""`connector unmatched`: Empower news about orders this connector never placed.

Empower's webhook URL is per account, so news about orders placed by other means (the
portal, another integration) reaches the connector too. After a bounded wait it is kept
here, for the record, instead of being retried or raising alarms as a failure.
"""

from __future__ import annotations

import argparse
from typing import Any

from connector.commands.output import EXIT_OK, json_lines, print_table
from connector.settings import StorageSettings
from connector.store import webhooks
from connector.store.database import Database
from connector.store.webhooks import WebhookOutcome


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "unmatched", help="Empower news about orders this connector never placed"
    )
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="one JSON object per delivery")


async def run(args: argparse.Namespace, settings: StorageSettings) -> int:
    database = Database(settings.database_url)
    try:
        async with database.connect() as connection:
            found = await webhooks.list_by_outcome(
                connection, WebhookOutcome.UNMATCHED, limit=args.limit
            )
    finally:
        await database.close()
    if args.json:
        json_lines(
            {
                "received_at": d.received_at.isoformat(),
                "source": d.source,
                "kind": d.event_type,
                "request_id": d.subject,
            }
            for d in found
        )
        return EXIT_OK
    print_table(
        ("received", "kind", "Empower request_id"),
        ((f"{d.received_at:%Y-%m-%d %H:%M:%S}", d.event_type, d.subject or "-") for d in found),
    )
    return EXIT_OK
