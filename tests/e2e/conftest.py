"""The whole installation on loopback: sandbox partners and a real connector daemon."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from connector.devstack import LocalStack, StackOptions
from connector.store.database import Database
from connector.store.migrate import upgrade_to_head

MakeStack = Callable[..., Awaitable[LocalStack]]


@pytest.fixture
async def make_stack(database_url: str, tmp_path: Path) -> AsyncIterator[MakeStack]:
    """Start a stack on each kind of database; `worker` entries override the defaults."""
    stacks: list[LocalStack] = []

    async def make(*, worker: dict[str, Any] | None = None, **options: Any) -> LocalStack:
        if not database_url.startswith("sqlite"):
            migrated = Database(database_url)  # on PostgreSQL, `connector migrate` runs first
            await upgrade_to_head(migrated)
            await migrated.close()
        settings = StackOptions(database_url=database_url, **options)
        settings.worker = {**settings.worker, **(worker or {})}
        stack = LocalStack(tmp_path / f"stack{len(stacks)}", settings)
        (tmp_path / f"stack{len(stacks)}").mkdir()
        await stack.start()
        stacks.append(stack)
        return stack

    try:
        yield make
    finally:
        for stack in stacks:
            await stack.stop()
