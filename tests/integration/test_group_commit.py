"""Group commit (connector.receive.recorder) on a real database: concurrent deliveries
share transactions, and each is answered only after its own rows are committed, with the
receipt it would have had alone."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.receive.receipt import Receipt, Verdict
from connector.receive.recorder import GroupCommit, Write, single
from connector.receive.rxscale import RxScaleReceiver
from connector.store import job_queries, order_queries
from connector.store.database import Database
from connector.store.tables import received_webhooks_table

SECRET = "whsec_group_commit_0123456789"
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def delivery(uid: str, timestamp: int = 1) -> tuple[bytes, str]:
    body = json.dumps(
        {"event_type": "pharmacy_order_created", "timestamp": timestamp, "data": {"uid": uid}}
    ).encode()
    return body, hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


async def stored(database: Database) -> int:
    async with database.connect() as c:
        return int(await c.scalar(select(func.count()).select_from(received_webhooks_table)) or 0)


async def test_a_burst_is_written_in_few_transactions_and_deduplicated_exactly(
    database: Database,
) -> None:
    recorder = GroupCommit(database)
    receiver = RxScaleReceiver(database, [SECRET], recorder=recorder)
    # 60 orders, each delivered twice at once, plus a second event for 10 of them.
    sends = [delivery(f"po-{n}") for n in range(60)] * 2
    sends += [delivery(f"po-{n}", timestamp=2) for n in range(10)]
    try:
        receipts = await asyncio.gather(
            *(receiver.receive(body, signature, NOW) for body, signature in sends)
        )
    finally:
        await recorder.aclose()
    verdicts = [r.verdict for r in receipts]
    assert verdicts.count(Verdict.ENQUEUED) == 70
    assert verdicts.count(Verdict.DUPLICATE) == 60
    with_jobs = [r for r in receipts if r.job_ids]
    assert sorted(r.order_uid or "" for r in with_jobs) == sorted(f"po-{n}" for n in range(60))
    assert await stored(database) == 70
    async with database.connect() as c:
        assert len(await order_queries.list_orders(c, limit=1000)) == 60
        assert len(await job_queries.list_jobs(c)) == 60
    assert recorder.deliveries == len(sends)
    assert recorder.batches < len(sends) / 4  # shared commits, not one each


async def test_a_delivery_that_breaks_its_batch_fails_alone(database: Database) -> None:
    recorder = GroupCommit(database)
    receiver = RxScaleReceiver(database, [SECRET], recorder=recorder)

    async def broken(connection: AsyncConnection) -> Receipt:
        raise ValueError("a bug in one write")

    try:
        results = await asyncio.gather(
            *(receiver.receive(*delivery(f"po-{n}"), NOW) for n in range(10)),
            recorder.record(single(broken)),
            *(receiver.receive(*delivery(f"po-{n}"), NOW) for n in range(10, 20)),
            return_exceptions=True,
        )
    finally:
        await recorder.aclose()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1
    assert isinstance(errors[0], ValueError)
    assert await stored(database) == 20


async def test_a_batch_mixing_kinds_of_delivery_commits_as_one(database: Database) -> None:
    """New orders share a transaction with writes that have no blocking form (then the
    batch goes to the async writer): nothing breaks the batch, nothing is split."""
    recorder = GroupCommit(database)
    receiver = RxScaleReceiver(database, [SECRET], recorder=recorder)

    async def other(connection: AsyncConnection) -> Receipt:
        return Receipt(Verdict.RECORDED)

    try:
        results = await asyncio.gather(
            *(receiver.receive(*delivery(f"po-{n}"), NOW) for n in range(5)),
            recorder.record(single(other)),
            *(receiver.receive(*delivery(f"po-{n}"), NOW) for n in range(5, 10)),
        )
    finally:
        await recorder.aclose()
    assert [r.verdict for r in results].count(Verdict.ENQUEUED) == 10
    assert (recorder.batches, recorder.deliveries) == (1, 11)  # split batches are not counted
    assert await stored(database) == 10


async def test_nothing_is_acknowledged_before_its_commit(database: Database) -> None:
    recorder = GroupCommit(database)
    seen: list[int] = []

    async def slow_many(connection: AsyncConnection, items: list[int]) -> list[Receipt]:
        await asyncio.sleep(0.2)  # the transaction is still open
        seen.extend(items)
        return [Receipt(Verdict.RECORDED) for _ in items]

    try:
        task = asyncio.gather(*(recorder.record(Write(slow_many, n)) for n in range(5)))
        await asyncio.sleep(0.1)
        assert not task.done()
        receipts = await task
    finally:
        await recorder.aclose()
    assert [r.verdict for r in receipts] == [Verdict.RECORDED] * 5
    assert sorted(seen) == [0, 1, 2, 3, 4]


async def test_an_unavailable_database_fails_the_whole_batch() -> None:
    database = Database("postgresql://connector:secret@127.0.0.1:1/connector")
    recorder = GroupCommit(database)
    receiver = RxScaleReceiver(database, [SECRET], recorder=recorder)
    try:
        receipts = await asyncio.gather(
            *(receiver.receive(*delivery(f"po-{n}"), NOW) for n in range(5))
        )
    finally:
        await recorder.aclose()
        await database.close()
    assert {r.verdict for r in receipts} == {Verdict.UNAVAILABLE}


@pytest.mark.parametrize("size", [1, 3])
async def test_close_writes_what_is_queued(database: Database, size: int) -> None:
    recorder = GroupCommit(database)
    receiver = RxScaleReceiver(database, [SECRET], recorder=recorder)
    tasks = [asyncio.create_task(receiver.receive(*delivery(f"po-{n}"), NOW)) for n in range(size)]
    await asyncio.sleep(0)
    await recorder.aclose()
    async with asyncio.timeout(5):  # answered, not left waiting on a writer that stopped
        receipts = await asyncio.gather(*tasks)
    assert all(r.verdict is Verdict.ENQUEUED for r in receipts)
    assert await stored(database) == size


async def test_a_batch_of_new_orders_alone_is_one_statement_on_postgresql(
    database: Database,
) -> None:
    """On PostgreSQL such a batch runs outside a transaction block, which is atomic only
    while it is one statement: a second one would commit on its own."""
    if not database.is_postgresql:
        pytest.skip("SQLite writes a batch row by row in a transaction")
    statements: list[tuple[str, object]] = []

    def seen(connection: Connection, _cursor: object, statement: str, *_: object) -> None:
        level = connection.get_execution_options().get("isolation_level")
        statements.append((statement, level))

    event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    recorder = GroupCommit(database)
    receiver = RxScaleReceiver(database, [SECRET], recorder=recorder)
    sends = [delivery(f"po-{n}") for n in range(20)] * 2
    try:
        receipts = await asyncio.gather(
            *(receiver.receive(body, signature, NOW) for body, signature in sends)
        )
    finally:
        await recorder.aclose()
        event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
    assert [r.verdict for r in receipts].count(Verdict.ENQUEUED) == 20
    assert len(statements) == recorder.batches  # one each, and nothing else
    assert all("INSERT INTO received_webhooks" in s for s, _ in statements)
    assert {level for _, level in statements} == {"AUTOCOMMIT"}  # no BEGIN, no COMMIT
    assert await stored(database) == 20
