"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_or_ignore(
    connection: AsyncConnection | Connection, table: Table, *conflict_columns: str
) -> Any:
    """`INSERT … ON CONFLICT (…) DO NOTHING` for whichever database we are on."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict_columns)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict_columns)
