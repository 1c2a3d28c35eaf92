"""The order mapping and its append-only history: creating orders, moving them through
the lifecycle, and re-running them. Reading them for reports is in `order_queries`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.empower import Tracking
from connector.domain.jobs import JsonObject
from connector.domain.lifecycle import OrderEvent, OrderState, apply
from connector.domain.outcome import HistoryEntry, OrderUpdate, Outcome
from connector.domain.records import OrderRecord
from connector.store import order_counts
from connector.store.dialect import insert_or_ignore
from connector.store.tables import order_events_table, orders_table

orders = orders_table
order_events = order_events_table


class StateConflict(Exception):
    """The order was not in the state the change expected: someone else moved it first."""

    def __init__(self, uid: str, expected: OrderState) -> None:
        super().__init__(f"order {uid} is no longer {expected.value!r}")
        self.uid = uid
        self.expected = expected


class UnknownOrder(Exception):
    def __init__(self, uid: str) -> None:
        super().__init__(f"no order {uid!r} in the mapping")
        self.uid = uid


async def create_order_if_absent(connection: AsyncConnection, uid: str, now: datetime) -> bool:
    """Start the mapping for a new order; False when it already existed."""
    return bool(await connection.run_sync(create_orders_if_absent, [uid], now))


def create_orders_if_absent(connection: Connection, uids: Sequence[str], now: datetime) -> set[str]:
    """Start the mapping for each new order, in three statements however many there are;
    the uids of those that did not exist yet. Blocking code (async callers use
    `connection.run_sync`). New-order deliveries write the same rows through
    `new_orders.take_in`, which must stay in step with this."""
    if not uids:
        return set()
    # Parameters as a list, not `.values([...])`: SQLAlchemy then compiles the statement
    # once and batches the rows itself (insertmanyvalues); a multi-row `.values()` would be
    # compiled again for every call.
    statement = insert_or_ignore(connection, orders, "rxscale_uid").returning(orders.c.rxscale_uid)
    rows = [
        {
            "rxscale_uid": uid,
            "state": OrderState.RECEIVED.value,
            "placement_generation": 0,
            "empower_prescription_tokens": [],
            "created_at": now,
            "updated_at": now,
        }
        for uid in dict.fromkeys(uids)
    ]
    created = set(connection.execute(statement, rows).scalars())
    if created:
        order_counts.count_move(connection, None, OrderState.RECEIVED, times=len(created))
        events: list[dict[str, object]] = [
            {
                "rxscale_uid": uid,
                "kind": "received",
                "from_state": None,
                "to_state": OrderState.RECEIVED.value,
                "detail": {},
                "job_id": None,
                "occurred_at": now,
            }
            for uid in dict.fromkeys(uids)
            if uid in created
        ]
        connection.execute(insert(order_events), events)
    return created


async def get_order(connection: AsyncConnection, uid: str) -> OrderRecord | None:
    row = (await connection.execute(select(orders).where(orders.c.rxscale_uid == uid))).first()
    return to_record(row) if row is not None else None


async def require_order(connection: AsyncConnection, uid: str) -> OrderRecord:
    record = await get_order(connection, uid)
    if record is None:
        raise UnknownOrder(uid)
    return record


async def find_uid_by_request_id(connection: AsyncConnection, request_id: str) -> str | None:
    statement = select(orders.c.rxscale_uid).where(orders.c.empower_request_id == request_id)
    return (await connection.execute(statement)).scalar_one_or_none()


async def rerun(connection: AsyncConnection, uid: str, now: datetime) -> int:
    """An operator re-runs an order on hold: back to `received`, next generation.

    The previous placement's Empower ids leave the live mapping for the history, so that a
    new placement starts clean and the old ones stay on record. Returns the new
    generation; raises `StateConflict` unless the order is on hold."""
    transition = apply(OrderState.ON_HOLD, OrderEvent.RETRY)
    before = await get_order(connection, uid)
    statement = (
        update(orders)
        .where(orders.c.rxscale_uid == uid, orders.c.state == OrderState.ON_HOLD.value)
        .values(
            state=transition.after.value,
            placement_generation=orders.c.placement_generation + 1,
            hold_reason=None,
            empower_patient_token=None,
            empower_prescription_tokens=[],
            empower_order_id=None,
            empower_request_id=None,
            empower_status=None,
            tracking_number=None,
            carrier=None,
            tracking_url=None,
            updated_at=now,
        )
        .returning(orders.c.placement_generation)
    )
    generation = (await connection.execute(statement)).scalar_one_or_none()
    if generation is None or before is None:
        raise StateConflict(uid, OrderState.ON_HOLD)
    await connection.run_sync(order_counts.count_move, transition.before, transition.after)
    previous = {
        "empower_order_id": before.empower_order_id,
        "empower_request_id": before.empower_request_id,
        "empower_status": before.empower_status,
        "hold_reason": before.hold_reason,
    }
    await add_history(
        connection,
        uid,
        HistoryEntry(OrderEvent.RETRY.value, {"generation": generation, "previous": previous}),
        now,
        from_state=transition.before,
        to_state=transition.after,
    )
    return int(generation)


async def add_history(
    connection: AsyncConnection,
    uid: str,
    entry: HistoryEntry,
    now: datetime,
    *,
    from_state: OrderState | None = None,
    to_state: OrderState | None = None,
    job_id: int | None = None,
) -> None:
    await connection.execute(
        insert(order_events).values(
            rxscale_uid=uid,
            kind=entry.kind,
            from_state=from_state.value if from_state else None,
            to_state=to_state.value if to_state else None,
            detail=entry.detail,
            job_id=job_id,
            occurred_at=now,
        )
    )


async def apply_outcome(
    connection: AsyncConnection, outcome: Outcome, now: datetime, *, job_id: int | None = None
) -> None:
    """Write one handler's result: state change (compare-and-set), fields, history."""
    uid = outcome.order_uid
    if uid is None:
        return
    values: dict[str, Any] = _update_values(outcome.update) if outcome.update else {}
    values |= _touch(outcome.update, now)
    if outcome.transitions:
        first, last = outcome.transitions[0], outcome.transitions[-1]
        values["state"] = last.after.value
        values["updated_at"] = now
        statement = (
            update(orders)
            .where(orders.c.rxscale_uid == uid, orders.c.state == first.before.value)
            .values(**values)
        )
        if (await connection.execute(statement)).rowcount != 1:
            raise StateConflict(uid, first.before)
        await connection.run_sync(order_counts.count_move, first.before, last.after)
        for transition in outcome.transitions:
            await add_history(
                connection,
                uid,
                HistoryEntry(transition.event.value, outcome.detail),
                now,
                from_state=transition.before,
                to_state=transition.after,
                job_id=job_id,
            )
    elif values:
        values["updated_at"] = now
        result = await connection.execute(
            update(orders).where(orders.c.rxscale_uid == uid).values(**values)
        )
        if result.rowcount != 1:
            raise UnknownOrder(uid)
    for entry in outcome.history:
        await add_history(connection, uid, entry, now, job_id=job_id)


def _update_values(update_: OrderUpdate) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if update_.empower_patient_token is not None:
        values["empower_patient_token"] = update_.empower_patient_token
    if update_.empower_prescription_tokens is not None:
        values["empower_prescription_tokens"] = list(update_.empower_prescription_tokens)
    if update_.empower_order_id is not None:
        values["empower_order_id"] = update_.empower_order_id
    if update_.empower_request_id is not None:
        values["empower_request_id"] = update_.empower_request_id
    if update_.empower_status is not None:
        values["empower_status"] = update_.empower_status
    if update_.tracking is not None:
        values["tracking_number"] = update_.tracking.tracking_number
        values["carrier"] = update_.tracking.carrier
        values["tracking_url"] = update_.tracking.tracking_url
    if update_.hold_reason is not None:
        values["hold_reason"] = update_.hold_reason
    return values


def _touch(update_: OrderUpdate | None, now: datetime) -> dict[str, Any]:
    return {"empower_checked_at": now} if update_ is not None and update_.heard_from_empower else {}


def to_record(row: Row[Any]) -> OrderRecord:
    tracking = (
        Tracking(row.tracking_number, carrier=row.carrier, tracking_url=row.tracking_url)
        if row.tracking_number
        else None
    )
    tokens: JsonObject | list[str] = row.empower_prescription_tokens or []
    return OrderRecord(
        rxscale_uid=row.rxscale_uid,
        state=OrderState(row.state),
        placement_generation=row.placement_generation,
        empower_patient_token=row.empower_patient_token,
        empower_prescription_tokens=tuple(str(t) for t in tokens),
        empower_order_id=row.empower_order_id,
        empower_request_id=row.empower_request_id,
        empower_status=row.empower_status,
        tracking=tracking,
        hold_reason=row.hold_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        empower_checked_at=row.empower_checked_at,
    )
