"""The handler tier: one handler at a time, against a real SQLite file and both sandbox
partners over loopback, with the real clients. A `Bench` puts an order in any state on
both sides, runs one job, and commits what the handler returned as the worker would."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.devstack import EMPOWER_API_KEY, RXSCALE_API_KEY
from connector.domain.clock import SystemClock
from connector.domain.jobs import Job, JobKind, JobState, JsonObject
from connector.domain.lifecycle import OrderEvent, OrderState, apply_all
from connector.domain.mapping import MappingPolicy
from connector.domain.outcome import OrderUpdate, Outcome
from connector.domain.records import OrderRecord
from connector.empower.client import EmpowerClient
from connector.rxscale.client import RxScaleClient
from connector.sandbox.empower_records import FulfilmentScript, SandboxEmpowerOrder
from connector.sandbox.empower_server import EmpowerSandbox
from connector.sandbox.faults import FaultRule
from connector.sandbox.runner import RunningSandbox, start_sandbox
from connector.sandbox.rxscale_server import RxScaleSandbox
from connector.store import orders
from connector.store.database import Database
from connector.store.migrate import upgrade_to_head
from connector.work.base import Dependencies
from connector.work.failures import record_outcome

E = OrderEvent
S = OrderState

# How an order reaches each state, from `received`.
PATHS: dict[OrderState, tuple[OrderEvent, ...]] = {
    S.RECEIVED: (),
    S.ACCEPTED: (E.ACCEPT,),
    S.PLACED: (E.ACCEPT, E.PLACE),
    S.IN_PROGRESS: (E.ACCEPT, E.PLACE, E.START),
    S.READY_FOR_PICKUP: (E.ACCEPT, E.PLACE, E.START, E.SHIP),
    S.COMPLETED: (E.ACCEPT, E.PLACE, E.START, E.COMPLETE),
    S.DELIVERED: (E.ACCEPT, E.PLACE, E.START, E.COMPLETE, E.DELIVER),
    S.REJECTED: (E.ACCEPT, E.REJECT),
    S.ON_HOLD: (E.ACCEPT, E.REJECT, E.HOLD),
    S.CANCELLED: (E.CANCEL,),
}
# What RxScale shows for an order in each connector state.
RXSCALE_STATUS: dict[OrderState, str] = {
    S.RECEIVED: "waiting for pharmacy",
    S.ACCEPTED: "pending review",
    S.PLACED: "pending review",
    S.IN_PROGRESS: "in-progress",
    S.READY_FOR_PICKUP: "ready_for_pickup",
    S.COMPLETED: "completed",
    S.DELIVERED: "completed",
    S.REJECTED: "pending review",
    S.ON_HOLD: "on-hold",
    S.CANCELLED: "cancelled",
}
PLACED_STATES = frozenset({S.PLACED, S.IN_PROGRESS, S.READY_FOR_PICKUP, S.COMPLETED, S.DELIVERED})


@dataclass
class Bench:
    database: Database
    sandbox: RunningSandbox
    deps: Dependencies

    @property
    def rxscale(self) -> RxScaleSandbox:
        return self.sandbox.rxscale

    @property
    def empower(self) -> EmpowerSandbox:
        return self.sandbox.empower

    async def order(
        self, state: OrderState, *, rxscale_status: str | None = None, **overrides: Any
    ) -> OrderRecord:
        """An order in `state` in the connector, shown as RxScale would show it, and placed
        at Empower (not fulfilled: nothing happens there unless a test says so) when the
        state says it is."""
        uid = self.rxscale.add_order(**overrides)
        self.rxscale.orders[uid].set_status(rxscale_status or RXSCALE_STATUS[state])
        update = None
        if state in PLACED_STATES:
            placed = self.place_at_empower(uid)
            update = OrderUpdate(
                empower_order_id=placed.order_id,
                empower_request_id=placed.request_id,
                empower_status=placed.status,
            )
        now = datetime.now(UTC)
        async with self.database.transaction() as connection:
            await orders.create_order_if_absent(connection, uid, now)
            transitions = apply_all(S.RECEIVED, PATHS[state])
            if transitions or update:
                outcome = Outcome(order_uid=uid, transitions=transitions, update=update)
                await orders.apply_outcome(connection, outcome, now)
        return await self.record(uid)

    async def rerun(self, uid: str) -> OrderRecord:
        """An operator re-runs an order on hold, and its acceptance goes through."""
        now = datetime.now(UTC)
        async with self.database.transaction() as connection:
            await orders.rerun(connection, uid, now)
            record = await orders.require_order(connection, uid)
            accepted = Outcome(order_uid=uid, transitions=apply_all(record.state, (E.ACCEPT,)))
            await orders.apply_outcome(connection, accepted, now)
        self.rxscale.orders[uid].set_status("pending review")
        return await self.record(uid)

    def place_at_empower(self, uid: str, status: str = "PROCESSING") -> SandboxEmpowerOrder:
        placed = SandboxEmpowerOrder(
            order_id=f"ord_{secrets.token_hex(6)}",
            request_id=f"fill_request_{secrets.token_hex(10)}",
            external_order_id=uid,
            patient_token="pt_bench",
            prescription_tokens=["rx_bench"],
            shipping_method="standard",
            status=status,
        )
        self.empower.orders[placed.order_id] = placed
        return placed

    async def record(self, uid: str) -> OrderRecord:
        async with self.database.connect() as connection:
            return await orders.require_order(connection, uid)

    def job(
        self, kind: JobKind, uid: str | None, payload: JsonObject | None = None, attempt: int = 1
    ) -> Job:
        now = datetime.now(UTC)
        return Job(1, kind, uid, payload or {}, attempt, JobState.RUNNING, now, now)

    async def commit(self, outcome: Outcome) -> list[int]:
        """Write what a handler returned, as the worker does; ids of the jobs queued."""
        async with self.database.transaction() as connection:
            job = self.job(JobKind.RECONCILE, outcome.order_uid)
            return await record_outcome(connection, job, outcome, datetime.now(UTC))

    def fault(self, partner: str, **rule: Any) -> None:
        server = self.rxscale if partner == "rxscale" else self.empower
        server.faults.add(FaultRule(**rule))

    def rxscale_calls(self, method: str, fragment: str) -> int:
        return self.rxscale.count_requests(method, fragment)

    def empower_calls(self, method: str, fragment: str) -> int:
        return self.empower.requests.count(method, fragment)


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    sandbox = await start_sandbox(
        RxScaleSandbox(api_key=RXSCALE_API_KEY),
        EmpowerSandbox(api_key=EMPOWER_API_KEY, fulfilment=FulfilmentScript(enabled=False)),
    )
    database = Database(f"sqlite:///{tmp_path / 'connector.db'}")
    await upgrade_to_head(database)
    rxscale = RxScaleClient(sandbox.rxscale_url, RXSCALE_API_KEY)
    empower = EmpowerClient(sandbox.empower_url, EMPOWER_API_KEY)
    deps = Dependencies(
        database=database,
        rxscale=rxscale,
        empower=empower,
        policy=MappingPolicy(),
        clock=SystemClock(),
    )
    try:
        yield Bench(database, sandbox, deps)
    finally:
        await rxscale.close()
        await empower.close()
        await database.close()
        await sandbox.close()
