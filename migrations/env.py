"""Alembic environment: runs on a connection handed over by `connector migrate`, or on the
URL in `CONNECTOR_DATABASE_URL` when the `alembic` script is used directly."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection

from connector.store.database import Database
from connector.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine() -> None:
    database = Database(os.environ.get("CONNECTOR_DATABASE_URL", "sqlite:///connector.db"))
    try:
        async with database.transaction() as connection:
            await connection.run_sync(run_on)
    finally:
        await database.close()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; use `connector migrate`")

handed_over = config.attributes.get("connection")
if handed_over is not None:
    run_on(handed_over)
else:
    asyncio.run(run_with_own_engine())
