"""SQLite's blocking writer: a transaction's statements on the event loop, its commit in a
thread of its own.

A small transaction's statements run in SQLite's own memory for microseconds each. In a
thread, each one lets go of the GIL and waits to take it back from the busy event loop:
that hand-over, not the work, was most of the writer's time under load. So the statements
run on the loop, in one go. The commit, with its fsync, is the part that waits on the disk;
it runs in the thread, and the loop serves requests meanwhile.

Taking the write lock can wait too, when another process holds it (an operator's command
on the same file). So `BEGIN IMMEDIATE` is tried on the loop without waiting, and only if
the lock is taken is it waited for, in the thread, with the usual busy timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Connection, Engine, RootTransaction
from sqlalchemy.exc import OperationalError

T = TypeVar("T")

# How long a transaction waits for another process's write lock (as every connection does).
BUSY_TIMEOUT_MS = 10_000


class BlockingSqliteWriter:
    """One connection, kept for the process's life; its caller holds the writer's turn."""

    def __init__(self, url: URL, configure: Callable[[Engine], None]) -> None:
        self._url = url
        self._configure = configure
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._thread: ThreadPoolExecutor | None = None

    async def write(self, write: Callable[[Connection], T]) -> T:
        """`write` in one transaction, committed (durably) when this returns."""
        connection, thread = self._connected()
        loop = asyncio.get_running_loop()
        transaction = self._begin_at_once(connection)
        if transaction is None:
            beginning = loop.run_in_executor(thread, _begin_waiting, connection)
            try:
                transaction = await asyncio.shield(beginning)
            except asyncio.CancelledError:
                # The thread may still take the lock: give it back before going.
                with contextlib.suppress(Exception):
                    self._end((await beginning).rollback)
                raise
        try:
            result = write(connection)
        except BaseException:
            self._end(transaction.rollback)
            raise
        committing = loop.run_in_executor(thread, self._end, transaction.commit)
        try:
            await asyncio.shield(committing)
        except asyncio.CancelledError:
            # The thread finishes the commit regardless: the caller keeps its turn until then.
            with contextlib.suppress(Exception):
                await committing
            raise
        return result

    def _connected(self) -> tuple[Connection, ThreadPoolExecutor]:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        if self._engine is None:
            # Used on the loop and in the thread, never both at once (the writer's turn).
            self._engine = create_engine(
                self._url.set(drivername="sqlite"),
                pool_size=1,
                max_overflow=0,
                connect_args={"check_same_thread": False},
            )
            self._configure(self._engine)
        if self._connection is None:
            self._connection = self._engine.connect()
            _set_busy_timeout(self._connection, 0)
        return self._connection, self._thread

    def _begin_at_once(self, connection: Connection) -> RootTransaction | None:
        """The write lock taken now, or None when another process holds it."""
        try:
            return connection.begin()
        except OperationalError as exc:
            if getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY:
                return None
            self._discard()
            raise

    def _end(self, end: Callable[[], None]) -> None:
        """Commit or roll back; a connection that failed at it (or at beginning) is not
        trusted again."""
        try:
            end()
        except BaseException:
            self._discard()
            raise

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.invalidate()
            with contextlib.suppress(Exception):
                connection.close()

    async def close(self) -> None:
        """Close the connection and the thread; a later write opens them again."""
        thread, self._thread = self._thread, None
        engine, self._engine = self._engine, None
        if thread is None:
            return
        loop = asyncio.get_running_loop()
        connection, self._connection = self._connection, None
        if connection is not None:
            await loop.run_in_executor(thread, connection.close)
        if engine is not None:
            await loop.run_in_executor(thread, engine.dispose)
        thread.shutdown(wait=True)


def _begin_waiting(connection: Connection) -> RootTransaction:
    _set_busy_timeout(connection, BUSY_TIMEOUT_MS)
    try:
        return connection.begin()
    finally:
        _set_busy_timeout(connection, 0)


def _set_busy_timeout(connection: Connection, milliseconds: int) -> None:
    # Straight on the driver: through SQLAlchemy, a statement would begin a transaction.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA busy_timeout={int(milliseconds)}")
    finally:
        cursor.close()
