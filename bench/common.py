"""What the benchmarks share: a migrated PostgreSQL database when one is configured."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.store.database import Database
from connector.store.migrate import upgrade_to_head
from tests.conftest import create_postgres_database, drop_postgres_database


@asynccontextmanager
async def empty_postgres() -> AsyncIterator[str | None]:
    """A fresh PostgreSQL database with no schema, or None when no server is configured."""
    if not os.environ.get("CONNECTOR_TEST_DATABASE_URL"):
        yield None
        return
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@asynccontextmanager
async def migrated_postgres() -> AsyncIterator[str | None]:
    """A fresh, migrated PostgreSQL database for one benchmark run, or None when
    CONNECTOR_TEST_DATABASE_URL names no server (the benchmark then measures SQLite only)."""
    if not os.environ.get("CONNECTOR_TEST_DATABASE_URL"):
        yield None
        return
    url = await create_postgres_database()
    database = Database(url)
    try:
        await upgrade_to_head(database)
        await database.close()
        yield url
    finally:
        await drop_postgres_database(url)
