"""Periodic work (reconciliation, stock sync) as ordinary jobs.

Every replica runs a scheduler; each period's job carries a unique key for that period, so
however many replicas enqueue it, it exists once and runs once.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from connector.domain.clock import Clock
from connector.domain.jobs import JobKind, JobSpec
from connector.domain.workflow import periodic
from connector.store import jobs
from connector.store.database import Database, StoreUnavailable
from connector.work.signal import JobSignal

log = structlog.get_logger("connector.scheduler")


@dataclass(frozen=True, slots=True)
class Periodic:
    kind: JobKind
    every_seconds: float


class Scheduler:
    def __init__(
        self,
        database: Database,
        periodic: Sequence[Periodic],
        clock: Clock,
        signal: JobSignal,
    ) -> None:
        self.database = database
        self.periodic = [p for p in periodic if p.every_seconds > 0]
        self.clock = clock
        self.signal = signal

    def due(self) -> list[JobSpec]:
        """This period's job of each kind (the first one runs at start-up)."""
        now = self.clock.now().timestamp()
        return [
            periodic(p.kind, p.every_seconds, math.floor(now / p.every_seconds))
            for p in self.periodic
        ]

    def seconds_to_next_period(self) -> float:
        now = self.clock.now().timestamp()
        return min(p.every_seconds - now % p.every_seconds for p in self.periodic)

    async def run(self) -> None:
        if not self.periodic:
            return
        while True:
            try:
                async with self.database.transaction() as connection:
                    created = await jobs.enqueue(connection, self.due(), self.clock.now())
            except StoreUnavailable as exc:
                log.warning("schedule_failed", error=exc.cause_name)
                await asyncio.sleep(5.0)
                continue
            if created:
                self.signal.notify()
            await asyncio.sleep(self.seconds_to_next_period() + 0.01)
