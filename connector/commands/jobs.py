"""`connector jobs …`: the queue, and another run for dead or failed jobs."""

from __future__ import annotations

import argparse
from typing import Any

from connector.commands.output import EXIT_OK, json_lines, print_table, refuse
from connector.domain.clock import SystemClock
from connector.domain.jobs import Job, JobKind, JobState
from connector.settings import StorageSettings
from connector.store import job_queries
from connector.store.database import Database


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("jobs", help="list jobs and retry dead ones")
    sub = parser.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="jobs, oldest first")
    listing.add_argument("--dead", action="store_true", help="only jobs out of attempts")
    listing.add_argument("--state", choices=[s.value for s in JobState])
    listing.add_argument("--kind", choices=[k.value for k in JobKind])
    listing.add_argument("--order", metavar="UID", help="only the jobs of this order")
    listing.add_argument("--limit", type=int, default=200)
    listing.add_argument("--json", action="store_true", help="one JSON object per job")
    retry = sub.add_parser("retry", help="queue dead or failed jobs again, attempts afresh")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", type=int, default=[], metavar="ID")
    which.add_argument("--all-dead", action="store_true", help="every dead job")


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind.value,
        "order_uid": job.order_uid,
        "state": job.state.value,
        "attempts": job.attempts,
        "run_at": job.run_at.isoformat(),
        "created_at": job.created_at.isoformat(),
        "last_error": job.last_error,
    }


async def run(args: argparse.Namespace, settings: StorageSettings) -> int:
    database = Database(settings.database_url)
    try:
        if args.jobs_command == "list":
            return await _list(database, args)
        return await _retry(database, args)
    finally:
        await database.close()


async def _list(database: Database, args: argparse.Namespace) -> int:
    states = [JobState.DEAD] if args.dead else [JobState(args.state)] if args.state else None
    kinds = [JobKind(args.kind)] if args.kind else None
    async with database.engine.connect() as connection:
        found = await job_queries.list_jobs(
            connection, states=states, kinds=kinds, order_uid=args.order, limit=args.limit
        )
    if args.json:
        json_lines(job_json(job) for job in found)
        return EXIT_OK
    print_table(
        ("id", "kind", "order", "state", "attempts", "run at", "last error"),
        (
            (
                str(j.id),
                j.kind.value,
                j.order_uid or "-",
                j.state.value,
                str(j.attempts),
                f"{j.run_at:%Y-%m-%d %H:%M:%S}",
                (j.last_error or "-")[:80],
            )
            for j in found
        ),
    )
    return EXIT_OK


async def _retry(database: Database, args: argparse.Namespace) -> int:
    if not args.all_dead and not args.ids:
        return refuse("name the jobs to retry, or --all-dead")
    async with database.transaction() as connection:
        requeued = await job_queries.requeue(
            connection, SystemClock().now(), job_ids=args.ids, all_dead=args.all_dead
        )
    if not requeued:
        return refuse("no dead or failed job matched")
    missing = sorted(set(args.ids) - set(requeued))
    print(f"queued again: {', '.join(str(i) for i in requeued)}")
    if missing:
        return refuse(f"not dead or failed, left alone: {', '.join(str(i) for i in missing)}")
    return EXIT_OK
