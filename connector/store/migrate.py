"""Alembic, driven from our own commands rather than the `alembic` script."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from connector.store.database import Database

# Any constant will do, as long as every replica uses the same one.
MIGRATION_LOCK_ID = 0x52585343  # "RXSC"


def migrations_path() -> Path:
    """The migrations of an installed wheel, else those of the source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("migrations not found beside the connector package")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    return config


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def _upgrade(connection: Connection, config: Config) -> None:
    if connection.dialect.name == "postgresql":
        # Replicas starting together take turns; the second finds nothing left to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_to_head(database: Database) -> None:
    config = alembic_config()
    async with database.transaction() as connection:
        await connection.run_sync(_upgrade, config)


def _current(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def current_revisions(database: Database) -> set[str]:
    async with database.connect() as connection:
        return await connection.run_sync(_current)


async def is_up_to_date(database: Database, heads: set[str] | None = None) -> bool:
    expected = heads if heads is not None else head_revisions()
    return await current_revisions(database) == expected
