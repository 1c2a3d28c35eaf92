"""The engine and its transactions, with SQLite set up for one durable writer at a time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from connector.store.sqlite_writer import BlockingSqliteWriter

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # FULL: a webhook we answered 200 must survive a power cut, not only a crash.
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
)

# What "the database is not there right now" looks like. SQLAlchemy wraps most driver
# errors (OperationalError: SQLite's lock timeout, a dropped connection; InterfaceError;
# its pool's TimeoutError), but asyncpg's connection failures arrive raw
# (ConnectionRefusedError, a timeout, a refused password), and an outage must be ridden
# out, not crash the daemon. Only the store sees these; everything above it sees
# `StoreUnavailable`. A broken constraint is not an outage and is not translated.
_DRIVER_FAILURES: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
    OSError,
    TimeoutError,
    # Raw asyncpg errors come only from connecting (statements' errors are wrapped).
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


# Wrapped by SQLAlchemy when they happen on connecting (a server starting up or shutting
# down answers 57P0x): the server is away, not the statement wrong.
_SERVER_AWAY: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)


def _caused_by_the_server_being_away(error: DBAPIError) -> bool:
    seen: BaseException | None = error.orig
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, _SERVER_AWAY):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class StoreUnavailable(Exception):
    """The database could not do what was asked (unreachable, restarting, refused): nothing
    was written. The one database failure the layers above the store handle."""

    def __init__(self, cause: BaseException, *, stale_connection: bool = False) -> None:
        super().__init__(f"database unavailable ({type(cause).__name__})")
        self.cause_name = type(cause).__name__
        # A pooled connection the server had dropped (a restart): the pool has discarded
        # it, and trying again at once on a fresh one is likely to work.
        self.stale_connection = stale_connection


@asynccontextmanager
async def _unavailable_as_ours() -> AsyncIterator[None]:
    try:
        yield
    except StoreUnavailable:
        raise
    except _DRIVER_FAILURES as exc:
        raise StoreUnavailable(exc) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailable(exc, stale_connection=True) from exc
        if _caused_by_the_server_being_away(exc):
            raise StoreUnavailable(exc) from exc
        raise


_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}


def normalise_database_url(url: str) -> URL:
    """Accept plain `sqlite://` and `postgresql://` URLs and pick the async drivers."""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is not None:
        parsed = parsed.set(drivername=driver)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {parsed.get_backend_name()!r}")
    return parsed


T = TypeVar("T")


def _configure_sqlite(engine: Engine, *, writer: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    if not writer:
        return  # readers begin deferred: in WAL mode they never wait for the writer

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front: a transaction that reads then writes can
        # never fail half-way because another connection wrote in between.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Transactions go to the writer, reads to a pool of readers.

    SQLite has one write lock. With several pooled connections taking it by turns, each
    waits in SQLite's busy handler, which sleeps: under a few concurrent writers that is
    where the long tail came from. So SQLite gets one writer connection, which writers
    queue for in order inside the process (one process per file is enforced), and
    separate reader connections. PostgreSQL pools both; a connection the server dropped is
    not tested at every checkout (a round trip each time) but discarded when it fails, and
    the caller retries (`StoreUnavailable`).
    """

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = normalise_database_url(url)
        if self.is_sqlite:
            self.engine = create_async_engine(self.url)
            self.writer = create_async_engine(
                self.url, pool_size=1, max_overflow=0, pool_timeout=120
            )
            _configure_sqlite(self.engine.sync_engine, writer=False)
            _configure_sqlite(self.writer.sync_engine, writer=True)
        else:
            self.engine = create_async_engine(self.url, pool_size=pool_size, max_overflow=pool_size)
            self.writer = self.engine
        # The same pool, sending no BEGIN and COMMIT: for writes that are one statement.
        self._autocommit = self.writer.execution_options(isolation_level="AUTOCOMMIT")
        # SQLite's writers take turns here, before they touch the file: the async writer
        # and the blocking one never wait in SQLite's busy handler for each other.
        self._writer_turn = asyncio.Lock()
        self._sqlite_writer = BlockingSqliteWriter(
            self.url, lambda engine: _configure_sqlite(engine, writer=True)
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction, committed when the block ends without an exception."""
        async with self._turn(), _unavailable_as_ours(), self.writer.begin() as connection:
            yield connection

    async def write_blocking(
        self, write: Callable[[Connection], T], *, one_statement: bool = False
    ) -> T:
        """`write` (plain blocking code) in one transaction, committed when it returns.

        On SQLite its statements run on the event loop and its commit in the writer's
        thread (`sqlite_writer`), where the async driver would hand every statement,
        cursor and fetch to its thread and back. On PostgreSQL it runs on the async
        connection as usual; with `one_statement` (`write` sends exactly one statement),
        that statement is its own transaction, and the BEGIN and COMMIT round trips are
        saved: PostgreSQL commits a statement outside a transaction block as a whole, and
        durably, before it answers."""
        if not self.is_sqlite:
            if one_statement:
                async with _unavailable_as_ours(), self._autocommit.connect() as connection:
                    return await connection.run_sync(write)
            async with self.transaction() as connection:
                return await connection.run_sync(write)
        async with self._turn(), _unavailable_as_ours():
            return await self._sqlite_writer.write(write)

    def _turn(self) -> AbstractAsyncContextManager[Any]:
        return self._writer_turn if self.is_sqlite else contextlib.nullcontext()

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reading (no transaction is begun on SQLite's write lock)."""
        async with _unavailable_as_ours(), self.engine.connect() as connection:
            yield connection

    async def ping(self) -> None:
        """Raise `StoreUnavailable` unless the database answers."""
        async with self.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()
        if self.writer is not self.engine:
            await self.writer.dispose()
        async with self._turn():  # after the blocking write in progress, if any
            await self._sqlite_writer.close()

    @property
    def sqlite_file(self) -> Path | None:
        """The database file of a file-backed SQLite URL, else None."""
        if not self.is_sqlite or not self.url.database or self.url.database == ":memory:":
            return None
        return Path(self.url.database).resolve()

    def describe(self) -> str:
        """The URL without its password, fit for logs."""
        return self.url.render_as_string(hide_password=True)
