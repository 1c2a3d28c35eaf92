"""The chaos run: orders relayed while everything around the connector misbehaves, and the
outcome checked from the partners' own records.

Real `connector run` processes between the sandbox partners, on SQLite (one process) or
PostgreSQL (two replicas behind a balancer), while:

- a share of all calls to both partners fails: 500, 503, 429 with and without
  Retry-After, timeouts, connection resets, and "acted, then the answer was lost";
- both partners go down at once for several times the backoff cap;
- webhooks are dropped, duplicated and delayed (so they overtake each other);
- orders are cancelled at RxScale at random moments, and Empower rejects some;
- the connector is SIGKILLed and restarted several times, and PostgreSQL restarted once.

Then every order is checked: it ends completed with exactly one live Empower order and
one complete_order with that order's tracking, or cancelled on both sides (or, if Empower
had shipped first, at rest as `cancel_refused`), or on hold with a reason; no dead job;
no 429 from RxScale's real limit; no patient value in the logs or the database.

    .venv/bin/python -m bench.chaos [--setting ci|long] [--database sqlite|postgresql]

PostgreSQL needs CONNECTOR_TEST_DATABASE_URL. Exit status 0 only when every check holds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import migrated_postgres
from connector.devstack import wait_until
from connector.domain.jobs import JobState
from connector.sandbox.balancer import RoundRobinBalancer
from connector.sandbox.delivery import DeliveryChaos, WebhookSender
from connector.sandbox.empower_records import FulfilmentScript, WebhookTarget
from connector.sandbox.empower_server import EmpowerSandbox
from connector.sandbox.faults import Chaos
from connector.sandbox.ratelimit import SlidingWindowLimit
from connector.sandbox.runner import serve, start_sandbox
from connector.sandbox.rxscale_server import RxScaleSandbox
from connector.store import job_queries, order_queries
from connector.store.database import Database
from tests.e2e.processes import Replica, base_env, free_port, run_connector

EMPOWER_HOOK_KEY = "chaos-run-empower-hook-key"
FINAL = {"completed", "cancelled", "on-hold"}


@dataclass(frozen=True)
class Setting:
    orders: int
    orders_per_second: float
    fault_rate: float = 0.2
    outage_seconds: float = 12.0
    backoff_max_seconds: float = 2.0
    kills: int = 3
    cancel_share: float = 0.15
    reject_rate: float = 0.05
    drop: float = 0.05
    duplicate: float = 0.1
    max_delay_seconds: float = 2.0
    settle_within: float = 300.0
    # Reconciliation pages through every open order at RxScale: sized to the backlog so
    # that it never takes the rate budget the orders need (as in production, where it is
    # every 5 minutes).
    reconcile_seconds: float = 10.0


SETTINGS = {
    "ci": Setting(orders=120, orders_per_second=4.0, settle_within=240.0),
    "long": Setting(
        orders=2000,
        orders_per_second=3.0,
        outage_seconds=60.0,
        backoff_max_seconds=10.0,
        kills=8,
        settle_within=2400.0,
        reconcile_seconds=60.0,
    ),
}


@dataclass
class Report:
    database: str
    orders: int
    completed: int = 0
    cancelled_both_sides: int = 0
    cancel_refused_shipped_first: int = 0
    on_hold: int = 0
    lost: int = 0
    doubled: int = 0
    wrong_tracking: int = 0
    complete_order_repeated: int = 0
    dead_jobs: int = 0
    failed_jobs: int = 0
    rxscale_429: int = 0
    patient_values_found: int = 0
    kills: int = 0
    postgres_restarts: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    webhooks: dict[str, int] = field(default_factory=dict)
    seconds_to_drain: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


class Run:
    def __init__(self, setting: Setting, database_url: str, work: Path, seed: int) -> None:
        self.setting = setting
        self.database_url = database_url
        self.work = work
        self.rng = random.Random(seed)
        self.is_postgres = database_url.startswith("postgresql")
        self.report = Report("postgresql" if self.is_postgres else "sqlite", setting.orders)
        hooks = DeliveryChaos(
            drop=setting.drop,
            duplicate=setting.duplicate,
            max_delay_seconds=setting.max_delay_seconds,
            seed=seed,
        )
        self.hooks = hooks
        self.rxscale = RxScaleSandbox(
            rate_limit=SlidingWindowLimit(per_second=10, per_minute=600),
            seed=seed,
            sender=WebhookSender(chaos=hooks, attempts=4),
        )
        self.empower = EmpowerSandbox(
            seed=seed,
            fulfilment=FulfilmentScript(
                processing_after=0.3,
                ship_after=1.5,
                deliver_after=3.0,
                reject_rate=setting.reject_rate,
            ),
            sender=WebhookSender(chaos=hooks, attempts=4),
        )
        for partner in (self.rxscale, self.empower):
            partner.faults.chaos = Chaos(rate=setting.fault_rate, seed=seed)
        self.replicas: list[Replica] = []
        self.uids: list[str] = []

    async def execute(self) -> Report:
        sandbox = await start_sandbox(self.rxscale, self.empower)
        replicas = 2 if self.is_postgres else 1
        ports = [free_port() for _ in range(replicas)]
        balancer_runner = None
        if replicas > 1:
            balancer = RoundRobinBalancer([f"http://127.0.0.1:{p}" for p in ports])
            balancer_runner, connector_url = await serve(balancer.app(), "127.0.0.1", 0)
        else:
            connector_url = f"http://127.0.0.1:{ports[0]}"
        try:
            env = self._environment(sandbox.rxscale_url, sandbox.empower_url, connector_url)
            code, out, err = await run_connector("migrate", env=base_env(**env), cwd=self.work)
            if code != 0:
                raise RuntimeError(out + err)
            for n, port in enumerate(ports):
                replica_env = base_env(**env, CONNECTOR_HTTP__PORT=str(port))
                log = self.work / f"replica-{n}.log"
                self.replicas.append(Replica(f"replica-{n}", port, replica_env, log, self.work))
            for replica in self.replicas:
                await replica.start()
                await replica.wait_ready()
            started = time.monotonic()
            await asyncio.gather(self._push_orders(), self._misbehave())
            await self._settle()
            self.report.seconds_to_drain = round(time.monotonic() - started, 1)
            for replica in self.replicas:
                await replica.terminate()
            await self._check()
        finally:
            for replica in self.replicas:
                if replica.process is not None and replica.process.returncode is None:
                    await replica.kill()
            await sandbox.close()
            if balancer_runner is not None:
                await balancer_runner.cleanup()
        return self.report

    def _environment(
        self, rxscale_url: str, empower_url: str, connector_url: str
    ) -> dict[str, str]:
        secrets = [
            self.rxscale.subscribe(f"{connector_url}/webhooks/rxscale", event).signing_secret
            for event in ("pharmacy_order_created", "pharmacy_order_updated")
        ]
        self.empower.webhook = WebhookTarget(
            url=f"{connector_url}/webhooks/empower", key=EMPOWER_HOOK_KEY
        )
        return {
            "CONNECTOR_DATABASE_URL": self.database_url,
            "CONNECTOR_RXSCALE__BASE_URL": rxscale_url,
            "CONNECTOR_RXSCALE__API_KEY": self.rxscale.api_key,
            "CONNECTOR_RXSCALE__WEBHOOK_SECRETS": ",".join(secrets),
            "CONNECTOR_RXSCALE__TIMEOUT_SECONDS": "2",
            # RxScale's real limit; on PostgreSQL the replicas share it through the database.
            "CONNECTOR_RXSCALE__RATE_LIMIT_PER_SECOND": "10",
            "CONNECTOR_RXSCALE__RATE_LIMIT_PER_MINUTE": "600",
            "CONNECTOR_EMPOWER__BASE_URL": empower_url,
            "CONNECTOR_EMPOWER__API_KEY": self.empower.api_key,
            "CONNECTOR_EMPOWER__WEBHOOK_KEYS": EMPOWER_HOOK_KEY,
            "CONNECTOR_EMPOWER__TIMEOUT_SECONDS": "2",
            "CONNECTOR_WORKER__LEASE_SECONDS": "6",
            "CONNECTOR_WORKER__BACKOFF_BASE_SECONDS": "0.2",
            "CONNECTOR_WORKER__BACKOFF_MAX_SECONDS": str(self.setting.backoff_max_seconds),
            "CONNECTOR_WORKER__IDLE_SECONDS": "1",
            "CONNECTOR_WORKER__REDRIVE_INTERVAL_SECONDS": "10",
            "CONNECTOR_RECONCILE__INTERVAL_SECONDS": str(self.setting.reconcile_seconds),
            "CONNECTOR_RECONCILE__STALE_AFTER_SECONDS": "10",
            "CONNECTOR_LOG_FORMAT": "json",
            "CONNECTOR_LOG_LEVEL": "debug",
        }

    async def _push_orders(self) -> None:
        gap = 1.0 / self.setting.orders_per_second
        cancellations = []
        for _ in range(self.setting.orders):
            uid = self.rxscale.add_order()
            self.uids.append(uid)
            if self.rng.random() < self.setting.cancel_share:
                cancellations.append(asyncio.create_task(self._cancel_later(uid)))
            await asyncio.sleep(gap)
        await asyncio.gather(*cancellations)

    async def _cancel_later(self, uid: str) -> None:
        await asyncio.sleep(self.rng.uniform(0.0, 8.0))
        if self.rxscale.orders[uid].status != "completed":  # RxScale cancels before that only
            self.rxscale.cancel_order(uid)

    async def _misbehave(self) -> None:
        pushing = self.setting.orders / self.setting.orders_per_second
        events: list[tuple[float, str]] = [(pushing * 0.4, "outage")]
        events += [
            (pushing * (n + 1) / (self.setting.kills + 1), "kill")
            for n in range(self.setting.kills)
        ]
        if self.is_postgres and shutil.which("pg_ctlcluster"):
            events.append((pushing * 0.7, "restart-postgres"))
        started = time.monotonic()
        for at, what in sorted(events):
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            if what == "outage":
                until = time.monotonic() + self.setting.outage_seconds
                self.rxscale.faults.chaos.outage_until = until
                self.empower.faults.chaos.outage_until = until
            elif what == "kill":
                replica = self.rng.choice(self.replicas)
                await replica.kill()
                self.report.kills += 1
                await asyncio.sleep(self.rng.uniform(0.2, 1.5))
                await replica.start()
                await replica.wait_ready(within=60)
            else:
                await asyncio.to_thread(restart_postgres)
                self.report.postgres_restarts += 1

    async def _settle(self) -> None:
        database = Database(self.database_url)

        async def settled() -> bool:
            if any(self.rxscale.orders[uid].status not in FINAL for uid in self.uids):
                return False
            async with database.connect() as c:
                live = await job_queries.count_by_state(c)
            # Periodic jobs come and go; order work must be done.
            return live.get(JobState.RUNNING, 0) == 0 and not await order_work_queued(database)

        try:
            await wait_until(settled, within=self.setting.settle_within, interval=1.0)
        finally:
            await database.close()

    async def _check(self) -> None:
        report = self.report
        database = Database(self.database_url)
        try:
            async with database.connect() as c:
                mapped = await order_queries.list_orders(c, limit=10**6)
                records = {r.rxscale_uid: r for r in mapped}
                finished = await job_queries.list_jobs(
                    c, states=[JobState.DEAD, JobState.FAILED], limit=10**6
                )
            stored = await database_text(database)
        finally:
            await database.close()
        report.dead_jobs = sum(1 for j in finished if j.state is JobState.DEAD)
        report.failed_jobs = sum(1 for j in finished if j.state is JobState.FAILED)
        for job in finished:
            if job.state is JobState.DEAD:
                report.problems.append(f"dead job {job.id} {job.kind.value}: {job.last_error}")
        for uid in self.uids:
            self._check_order(uid, records.get(uid))
        report.rxscale_429 = self.rxscale.rate_limit.refused if self.rxscale.rate_limit else 0
        if report.rxscale_429:
            report.problems.append(f"{report.rxscale_429} requests over RxScale's real limit")
        logs = "\n".join(r.log_path.read_text() for r in self.replicas)
        owners = {
            value: uid
            for uid in self.uids
            for value in patient_values(self.rxscale.orders[uid].document)
        }
        anywhere = re.compile("|".join(re.escape(v) for v in sorted(owners, key=len, reverse=True)))
        for found in {m.group(0) for text_ in (logs, stored) for m in anywhere.finditer(text_)}:
            report.patient_values_found += 1
            report.problems.append(f"a patient value of {owners[found]} was written down")
        report.faults = merge(self.rxscale.faults.chaos.counts, self.empower.faults.chaos.counts)
        report.webhooks = dict(self.hooks.counts)

    def _check_order(self, uid: str, record: Any) -> None:
        report = self.report
        at_rxscale = self.rxscale.orders[uid]
        placed = [
            o
            for o in self.empower.orders.values()
            if o.external_order_id == uid or o.external_order_id.startswith(f"{uid}-g")
        ]
        live = [o for o in placed if o.status not in ("REJECTED", "CANCELLED")]
        status = at_rxscale.status
        if len(live) > 1:
            report.doubled += 1
            report.problems.append(f"{uid}: {len(live)} live Empower orders")
        if status == "completed":
            report.completed += 1
            shipped = (
                live[0].shipments[-1]["tracking_number"] if live and live[0].shipments else None
            )
            sent = (at_rxscale.completion or {}).get("tracking_number")
            if not live or shipped != sent:
                report.wrong_tracking += 1
                report.problems.append(f"{uid}: completed with {sent}, Empower shipped {shipped}")
            if at_rxscale.completion_calls != 1:
                report.complete_order_repeated += 1
                report.problems.append(f"{uid}: complete_order sent {at_rxscale.completion_calls}x")
        elif status == "cancelled":
            if not live:
                report.cancelled_both_sides += 1
            elif record is not None and record.state.value == "cancel_refused":
                report.cancel_refused_shipped_first += 1
            else:
                report.lost += 1
                report.problems.append(f"{uid}: cancelled at RxScale, live at Empower")
        elif status == "on-hold":
            report.on_hold += 1
            comment = at_rxscale.history[-1].get("comment") or ""
            if live or not comment.strip():
                report.lost += 1
                report.problems.append(f"{uid}: on hold without a reason, or live at Empower")
        else:
            report.lost += 1
            report.problems.append(f"{uid}: still {status!r} at RxScale")


def patient_values(document: dict[str, Any]) -> list[str]:
    """What identifies the patient of one sandbox order: name, e-mail, birth date, street."""
    patient = document["patient_data"]
    address = document["order"]["delivery_address"] or {}
    street = f"{address.get('street', '')} {address.get('house_number', '')}".strip()
    return [
        v
        for v in (patient["display_name"], patient["email"], patient["date_of_birth"], street)
        if v
    ]


async def order_work_queued(database: Database) -> bool:
    async with database.connect() as c:
        found = await c.execute(
            text("SELECT 1 FROM jobs WHERE state = 'queued' AND order_uid IS NOT NULL LIMIT 1")
        )
        return found.first() is not None


async def database_text(database: Database) -> str:
    """Everything the database holds, as text, to search for patient values."""
    parts = []
    async with database.connect() as c:
        for table in ("orders", "order_events", "jobs", "received_webhooks"):
            for row in await c.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
                parts.append(json.dumps([str(v) for v in row]))
    if not database.is_postgresql and database.sqlite_file is not None:
        for path in database.sqlite_file.parent.glob(database.sqlite_file.name + "*"):
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def restart_postgres() -> None:
    version = sorted(os.listdir("/usr/lib/postgresql"), key=int)[-1]
    command = shutil.which("pg_ctlcluster") or "pg_ctlcluster"
    subprocess.run([command, "--skip-systemctl-redirect", version, "main", "restart"], check=True)


def merge(*counts: dict[str, int]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for count in counts:
        total.update(count)
    return dict(sorted(total.items()))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="ci")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--orders", type=int, help="override the setting's number of orders")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()
    setting = SETTINGS[args.setting]
    if args.orders:
        setting = dataclasses.replace(setting, orders=args.orders)
    with contextlib.ExitStack() as stack:
        # --keep: the replicas' logs and the SQLite file stay for reading afterwards.
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            work = args.keep
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="connector-chaos-")))
        if args.database == "postgresql":
            async with migrated_postgres() as url:
                if url is None:
                    print("chaos: set CONNECTOR_TEST_DATABASE_URL for PostgreSQL", file=sys.stderr)
                    return 2
                report = await Run(setting, url, work, args.seed).execute()
        else:
            url = f"sqlite:///{work / 'connector.db'}"
            report = await Run(setting, url, work, args.seed).execute()
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2) + "\n")
    return 0 if report.passed else 1


def print_report(report: Report) -> None:
    figures = asdict(report)
    problems = figures.pop("problems")
    for key, value in figures.items():
        print(f"  {key:30} {value}")
    for problem in problems[:30]:
        print(f"  PROBLEM: {problem}")
    print("chaos run passed" if report.passed else f"chaos run FAILED: {len(problems)} problems")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
