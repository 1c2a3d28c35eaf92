"""`connector webhooks …`: RxScale's webhook subscriptions for the connector."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from connector.commands.output import EXIT_OK, json_lines, print_table, refuse
from connector.domain.errors import PartnerError
from connector.domain.rxscale import RxScaleEventType
from connector.rxscale.client import RxScaleClient, WebhookSubscription
from connector.settings import RxScaleAccess
from connector.settings_sources import check_upstream_url

EVENTS = [event.value for event in RxScaleEventType]
PATH = "/webhooks/rxscale"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("webhooks", help="RxScale webhook subscriptions")
    sub = parser.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="the subscriptions RxScale holds for this key")
    listing.add_argument("--json", action="store_true")
    register = sub.add_parser(
        "register",
        help="subscribe this connector to the three event types; prints each signing secret once",
    )
    register.add_argument(
        "--public-url", required=True, help="where RxScale reaches the connector, https://…"
    )
    register.add_argument("--json", action="store_true")
    remove = sub.add_parser("remove", help="delete one subscription")
    remove.add_argument("uid")


def webhook_target(public_url: str) -> str:
    """The receiver's URL under the connector's public URL. A query string is kept after
    the path: it makes a distinct subscription (for rotating secrets), same route."""
    parts = urlsplit(check_upstream_url(public_url))
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + PATH))


def subscription_json(subscription: WebhookSubscription) -> dict[str, Any]:
    found = {
        "uid": subscription.uid,
        "notification_type": subscription.notification_type,
        "target": subscription.target,
    }
    if subscription.signing_secret:
        found["signing_secret"] = subscription.signing_secret
    return found


async def run(args: argparse.Namespace, settings: RxScaleAccess) -> int:
    rx = settings.rxscale
    client = RxScaleClient(
        rx.base_url,
        rx.api_key.get_secret_value(),
        pharmacy_uid=rx.pharmacy_uid,
        timeout_seconds=rx.timeout_seconds,
    )
    try:
        match args.webhooks_command:
            case "list":
                return await _list(client, args)
            case "register":
                return await _register(client, args)
            case "remove":
                await client.delete_webhook(args.uid)
                print(f"removed {args.uid}")
                return EXIT_OK
    except PartnerError as exc:
        return refuse(exc.describe())
    finally:
        await client.close()
    raise AssertionError(args.webhooks_command)


async def _list(client: RxScaleClient, args: argparse.Namespace) -> int:
    subscriptions = await client.list_webhooks()
    if args.json:
        json_lines(subscription_json(s) for s in subscriptions)
        return EXIT_OK
    print_table(
        ("uid", "event", "target"),
        ((s.uid, s.notification_type, s.target) for s in subscriptions),
    )
    return EXIT_OK


async def _register(client: RxScaleClient, args: argparse.Namespace) -> int:
    try:
        target = webhook_target(args.public_url)
    except ValueError as exc:
        return refuse(f"--public-url: {exc}")
    existing = {(s.notification_type, s.target) for s in await client.list_webhooks()}
    created = [
        await client.create_webhook(target, event)
        for event in EVENTS
        if (event, target) not in existing
    ]
    if args.json:
        json_lines(subscription_json(s) for s in created)
        return EXIT_OK
    skipped = [event for event in EVENTS if (event, target) in existing]
    if skipped:
        print(f"already subscribed: {', '.join(skipped)}")
    if created:
        print("RxScale shows these signing secrets only now. Add them to")
        print("CONNECTOR_RXSCALE__WEBHOOK_SECRETS (or the rxscale.webhook_secrets credential):")
        for subscription in created:
            print(f"  {subscription.notification_type:28} {subscription.signing_secret}")
    return EXIT_OK
