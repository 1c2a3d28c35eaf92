"""How deliveries are written: one transaction each, or many in one (group commit).

A delivery is answered 200 only after the transaction holding its rows has committed, in
both. Group commit lets one writer take every delivery that arrived while the previous
commit was in progress and write them all in the next transaction: one commit (one fsync
on SQLite) for a burst instead of one each, and no writers queueing on the database's
lock. Deliveries in one batch are applied one after the other on one connection, so
deduplication inside a batch is as exact as across batches.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.receive.receipt import Receipt
from connector.store.database import Database, StoreUnavailable

log = structlog.get_logger("connector.receive")

Apply = Callable[[AsyncConnection], Awaitable[Receipt]]
Many = Callable[[AsyncConnection, list[Any]], Awaitable[list[Receipt]]]
ManyBlocking = Callable[[Connection, list[Any]], list[Receipt]]


@dataclass(frozen=True)
class Write:
    """One delivery's write. `many` writes a run of deliveries of its kind at once (a
    handful of statements for the run instead of a handful each) and answers a receipt
    for each, in order. `many_blocking`, when set, is the same as plain blocking code: a
    batch made only of such writes goes to the database's blocking writer in one piece
    (`Database.write_blocking`)."""

    many: Many
    item: Any
    many_blocking: ManyBlocking | None = None
    # `many_blocking` sends exactly one statement on PostgreSQL, whatever the run's size:
    # a batch made of that run alone needs no transaction block around it.
    one_statement_on_postgresql: bool = False

    @property
    def kind(self) -> object:
        """What writes of one run share: their bulk function."""
        return self.many_blocking or self.many

    @classmethod
    def blocking(
        cls, many: ManyBlocking, item: Any, *, one_statement_on_postgresql: bool = False
    ) -> Write:
        async def on_async(connection: AsyncConnection, items: list[Any]) -> list[Receipt]:
            return await connection.run_sync(many, items)

        return cls(on_async, item, many, one_statement_on_postgresql)


async def _each(connection: AsyncConnection, applies: list[Apply]) -> list[Receipt]:
    return [await apply(connection) for apply in applies]


def single(apply: Apply) -> Write:
    """A write with no bulk form: applied on its own, in the batch's transaction."""
    return Write(_each, apply)


class Recorder(Protocol):
    async def record(self, write: Write) -> Receipt:
        """Do `write` in a transaction; return once that transaction has committed."""
        ...

    async def aclose(self) -> None: ...


@dataclass
class OneByOne:
    """A transaction per delivery."""

    database: Database

    async def record(self, write: Write) -> Receipt:
        [receipt] = await _in_one_transaction(self.database, [write])
        return receipt

    async def aclose(self) -> None:
        return None


@dataclass
class _Pending:
    write: Write
    done: asyncio.Future[Receipt]


@dataclass
class GroupCommit:
    """One writer; every delivery waiting when it is free goes into its next transaction."""

    database: Database
    max_batch: int = 256
    _queue: asyncio.Queue[_Pending | None] = field(default_factory=asyncio.Queue)
    _writer: asyncio.Task[None] | None = None
    batches: int = 0
    deliveries: int = 0

    async def record(self, write: Write) -> Receipt:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="intake-writer")
        done: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(write, done))
        return await asyncio.shield(done)  # a caller that goes away does not undo a batch

    async def aclose(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._writer is None:
            return
        await self._queue.put(None)  # after everything queued before it
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None

    async def _write(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch and not self._queue.empty():
                pending = self._queue.get_nowait()
                if pending is None:
                    stopping = True
                    break
                batch.append(pending)
            await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        writes = [pending.write for pending in batch]
        try:
            try:
                receipts = await _in_one_transaction(self.database, writes)
            except StoreUnavailable as exc:
                if not exc.stale_connection:
                    raise
                receipts = await _in_one_transaction(self.database, writes)  # a fresh connection
        except StoreUnavailable as exc:
            for pending in batch:
                _settle(pending, error=exc)
            return
        except Exception:
            # One delivery broke the batch; the rest must not pay for it. Each is written
            # alone, and only the one that fails again fails.
            log.warning("intake_batch_split", deliveries=len(batch))
            for pending in batch:
                try:
                    receipt = await OneByOne(self.database).record(pending.write)
                except Exception as exc:  # the delivery's own request answers for it
                    _settle(pending, error=exc)
                else:
                    _settle(pending, receipt=receipt)
            return
        self.batches += 1
        self.deliveries += len(batch)
        for pending, receipt in zip(batch, receipts, strict=True):
            _settle(pending, receipt=receipt)


async def _in_one_transaction(database: Database, writes: list[Write]) -> list[Receipt]:
    """In arrival order; consecutive writes of one kind go together."""
    runs: list[tuple[Write, list[Any]]] = []
    for write in writes:
        if runs and runs[-1][0].kind is write.kind:
            runs[-1][1].append(write.item)
        else:
            runs.append((write, [write.item]))
    if all(write.many_blocking is not None for write, _ in runs):

        def blocking(connection: Connection) -> list[Receipt]:
            receipts: list[Receipt] = []
            for write, items in runs:
                assert write.many_blocking is not None
                receipts += write.many_blocking(connection, items)
            return receipts

        alone = len(runs) == 1 and runs[0][0].one_statement_on_postgresql
        return await database.write_blocking(blocking, one_statement=alone)
    receipts: list[Receipt] = []
    async with database.transaction() as connection:
        for write, items in runs:
            receipts += await write.many(connection, items)
    return receipts


def _settle(
    pending: _Pending, *, receipt: Receipt | None = None, error: BaseException | None = None
) -> None:
    if pending.done.done():
        return
    if error is not None:
        pending.done.set_exception(error)
    else:
        assert receipt is not None
        pending.done.set_result(receipt)
