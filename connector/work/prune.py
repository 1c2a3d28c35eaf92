"""prune: keep a year of orders from slowing anything down (connector.store.retention).

Batches of a thousand rows, each its own short transaction, with the event loop given back
between them: intake and the worker go on while it runs.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from connector.domain.jobs import Job
from connector.domain.outcome import NOTHING, Outcome
from connector.store.retention import PRUNED_TABLES, prune_batch
from connector.work.base import Handler, log

# At most this many batches per table and run; the rest waits for the next run.
MAX_BATCHES = 500


class Prune(Handler):
    async def run(self, job: Job) -> Outcome:
        days = self.deps.retention_days
        if days <= 0:
            return NOTHING
        cutoff = self.deps.clock.now() - timedelta(days=days)
        pruned: dict[str, int] = {}
        for table in PRUNED_TABLES:
            pruned[table] = 0
            for _ in range(MAX_BATCHES):
                async with self.deps.database.transaction() as connection:
                    gone = await prune_batch(connection, table, cutoff)
                pruned[table] += gone
                if gone == 0:
                    break
                await asyncio.sleep(0)  # let waiting webhooks have the database first
        log.info("retention_pruned", days=days, **pruned)
        return Outcome(detail=pruned)
