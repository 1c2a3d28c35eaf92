"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from connector.store.database import Database
from connector.store.migrate import (
    alembic_config,
    current_revisions,
    head_revisions,
    is_up_to_date,
    upgrade_to_head,
)
from connector.store.tables import Base


def differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert not await is_up_to_date(db)
        await upgrade_to_head(db)
        assert await current_revisions(db) == head_revisions()
        async with db.engine.connect() as c:
            assert await c.run_sync(differences) == []
    finally:
        await db.close()


async def test_upgrade_is_idempotent_and_downgrade_reverses_it(database_url: str) -> None:
    db = Database(database_url)

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    def tables(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names()) - {"alembic_version"}

    try:
        await upgrade_to_head(db)
        await upgrade_to_head(db)
        async with db.transaction() as c:
            assert await c.run_sync(tables) == {
                "orders",
                "order_counts",
                "order_events",
                "received_webhooks",
                "rate_slots",
                "jobs",
            }
            await c.run_sync(downgrade)
        async with db.engine.connect() as c:
            assert await c.run_sync(tables) == set()
        await upgrade_to_head(db)
        assert await is_up_to_date(db)
    finally:
        await db.close()


async def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    from sqlalchemy import text

    db = Database(sqlite_url)
    try:
        async with db.engine.connect() as c:
            assert (await c.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await c.execute(text("PRAGMA synchronous"))).scalar() == 2  # FULL
    finally:
        await db.close()
