"""The `connector` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import structlog

from connector import __version__
from connector.commands import check as check_command
from connector.commands import jobs as jobs_command
from connector.commands import orders as orders_command
from connector.commands import unmatched as unmatched_command
from connector.commands import webhooks as webhooks_command
from connector.domain.errors import unexpected
from connector.logging import configure_logging
from connector.settings import (
    ConfigurationError,
    RxScaleAccess,
    Settings,
    StorageSettings,
    load,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="connector",
        description="Relays prescription orders from RxScale to Empower and shipments back.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("run", help="serve webhooks and work the queue until SIGTERM")
    commands.add_parser("migrate", help="bring the database schema up to date")

    demo = commands.add_parser(
        "demo", help="run orders end to end against the bundled sandbox partners"
    )
    demo.add_argument("--orders", type=int, default=5, help="how many orders (default 5)")
    demo.add_argument(
        "--within", type=float, default=None, help="seconds to wait (default 30 + 0.5 per order)"
    )
    demo.add_argument("--keep", type=Path, default=None, help="keep the SQLite file in this dir")
    demo.add_argument("--verbose", action="store_true", help="show the connector's log")

    check_command.add_parser(commands)
    orders_command.add_parser(commands)
    jobs_command.add_parser(commands)
    webhooks_command.add_parser(commands)
    unmatched_command.add_parser(commands)

    sandbox = commands.add_parser("sandbox", help="run the sandbox partners standalone")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--rxscale-port", type=int, default=8081)
    sandbox.add_argument("--empower-port", type=int, default=8082)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        match args.command:
            case "run":
                return _run()
            case "migrate":
                return _migrate()
            case "demo":
                return _demo(args)
            case "sandbox":
                return _sandbox(args)
            case "orders" | "jobs" | "webhooks" | "check" | "unmatched":
                return _operator_command(args)
    except ConfigurationError as exc:
        for problem in exc.problems:
            print(f"connector: configuration error: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_FAILED
    raise AssertionError(f"unhandled command {args.command}")


def _run() -> int:
    from connector.app import StartupError, serve

    settings = load(Settings)
    configure_logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(serve(settings))
    except StartupError as exc:
        print(f"connector: cannot start: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        # Through the logging pipeline, which withholds messages and locals: the default
        # traceback on stderr would print both.
        error = unexpected(exc)
        structlog.get_logger("connector.app").error("daemon_crashed", error=error, exc_info=exc)
        print(f"connector: stopped by an unexpected error: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _migrate() -> int:
    from connector.store.database import Database
    from connector.store.migrate import current_revisions, upgrade_to_head

    settings = load(StorageSettings)
    configure_logging(settings.log_level, settings.log_format)

    async def migrate() -> set[str]:
        database = Database(settings.database_url)
        try:
            await upgrade_to_head(database)
            return await current_revisions(database)
        finally:
            await database.close()

    try:
        revisions = asyncio.run(migrate())
    except Exception as exc:  # a broken database should end in one line, not a traceback
        print(f"connector: migration failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"database is at revision {', '.join(sorted(revisions))}")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from connector.demo import run_demo

    if args.orders < 1:
        print("connector: --orders must be at least 1", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging("info" if args.verbose else "warning", "console")
    within = args.within if args.within is not None else 30 + 0.5 * args.orders
    return asyncio.run(run_demo(args.orders, within=within, keep=args.keep))


# Each operator command: the settings it needs (no more, so `webhooks register` works before
# any signing secret exists), the log level that keeps its output clean, and its runner.
OPERATOR_COMMANDS: dict[
    str, tuple[type[StorageSettings], str, Callable[..., Coroutine[Any, Any, int]]]
] = {
    "orders": (StorageSettings, "warning", orders_command.run),
    "jobs": (StorageSettings, "warning", jobs_command.run),
    "webhooks": (RxScaleAccess, "warning", webhooks_command.run),
    "check": (Settings, "error", check_command.run),
    "unmatched": (StorageSettings, "warning", unmatched_command.run),
}


def _operator_command(args: argparse.Namespace) -> int:
    kind, level, runner = OPERATOR_COMMANDS[args.command]
    settings = load(kind)
    configure_logging(level, settings.log_format)
    return asyncio.run(runner(args, settings))


def _sandbox(args: argparse.Namespace) -> int:
    from connector.sandbox.runner import start_sandbox

    configure_logging("info", "auto")

    async def serve() -> None:
        running = await start_sandbox(
            host=args.host, rxscale_port=args.rxscale_port, empower_port=args.empower_port
        )
        print(f"RxScale sandbox: {running.rxscale_url}  (key {running.rxscale.api_key})")
        print(f"Empower sandbox: {running.empower_url}  (key {running.empower.api_key})")
        print("Control endpoints under /_sandbox/ on each; Ctrl-C stops.", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await running.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return EXIT_OK
