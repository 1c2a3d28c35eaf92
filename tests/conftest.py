"""Shared fixtures: real databases (a SQLite file; PostgreSQL when configured) and logging.

PostgreSQL variants need `CONNECTOR_TEST_DATABASE_URL`, a URL whose role may create
databases, e.g. postgresql://connector:connector@127.0.0.1/postgres. Each test gets a fresh
database on that server, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from connector.logging import configure_logging
from connector.sandbox.runner import RunningSandbox, start_sandbox
from connector.store.database import Database
from connector.store.migrate import upgrade_to_head

POSTGRES_VARIABLE = "CONNECTOR_TEST_DATABASE_URL"
POSTGRES_HINT = (
    f"PostgreSQL variant skipped: set {POSTGRES_VARIABLE}=postgresql://USER:PASSWORD@HOST/DB "
    "(a role allowed to CREATE DATABASE) to run it"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: runs against a real PostgreSQL server")


@pytest.fixture(scope="session", autouse=True)
def _quiet_logging() -> None:
    configure_logging("warning", "json")


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_VARIABLE) or None


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def create_postgres_database() -> str:
    admin = postgres_admin_url()
    assert admin is not None
    name = f"connector_test_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(_asyncpg_dsn(admin))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return _asyncpg_dsn(admin, name)


async def drop_postgres_database(url: str) -> None:
    admin = postgres_admin_url()
    assert admin is not None
    name = make_url(url).database
    connection = await asyncpg.connect(_asyncpg_dsn(admin))
    try:
        for attempt in range(20):
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except asyncpg.InsufficientPrivilegeError:
                # A backend of another role is in it (autovacuum, started by the test's
                # writes): a role without pg_signal_backend may not end it; it ends soon.
                if attempt == 19:
                    raise
                await asyncio.sleep(0.25)
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new PostgreSQL database for one test, dropped after; skips when none is configured."""
    if postgres_admin_url() is None:
        pytest.skip(POSTGRES_HINT)
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each kind: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'connector.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database; the test is skipped when none is configured."""
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    """Both sandbox partners on loopback."""
    running = await start_sandbox()
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database of each kind."""
    db = Database(database_url)
    await upgrade_to_head(db)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'connector.db'}"
