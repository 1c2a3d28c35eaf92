"""A rate limit shared by every replica on one PostgreSQL database.

Replicas calling RxScale with one key share its budget (10 requests a second, 600 a
minute). Each request takes a row here before it starts and stamps it when it finishes;
it counts, as the in-process limiter's does, from its start until a window after it
finished, so that the partner can never count more in any of its windows. Decisions are
serialised per bucket by a transaction-scoped advisory lock and use the database's clock,
so the replicas' own clocks do not matter. A replica that dies mid-request leaves a row
without a finish: no request outlives the client's timeout, so after `stale_after_seconds`
(that timeout and a little) the row counts as finished then, for one more window.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from sqlalchemy import text

from connector.store.database import Database

MARGIN_SECONDS = 0.02
POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Window:
    requests: int
    seconds: float


_TAKE = text(
    """
    WITH slots AS (
        SELECT
            finished_at IS NULL
                AND started_at > clock_timestamp() - make_interval(secs => :stale) AS running,
            -- a slot its replica never stamped finished by the client's timeout at the latest
            coalesce(finished_at, started_at + make_interval(secs => :stale)) AS done_at
        FROM rate_slots
        WHERE bucket = :bucket
          AND started_at > clock_timestamp() - make_interval(secs => :stale + :longest)
    )
    SELECT
        extract(epoch FROM clock_timestamp())::float8 AS now,
        array_agg(extract(epoch FROM done_at)::float8 ORDER BY done_at)
            FILTER (WHERE NOT running
                    AND done_at > clock_timestamp() - make_interval(secs => :longest)) AS finished,
        count(*) FILTER (WHERE running) AS in_flight
    FROM slots
    """
)


class SharedRateLimiter:
    def __init__(
        self,
        database: Database,
        bucket: str,
        windows: Sequence[Window],
        *,
        stale_after_seconds: float = 30.0,
    ) -> None:
        self.database = database
        self.bucket = bucket
        self.windows = [w for w in windows if w.requests > 0]
        self.stale_after_seconds = stale_after_seconds
        self._lock_key = zlib.crc32(f"rate:{bucket}".encode())
        self.waited_seconds = 0.0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a place for one request while it runs."""
        if not self.windows:
            yield
            return
        slot_id = await self._take()
        try:
            yield
        finally:
            await self._give_back(slot_id)

    async def _take(self) -> int:
        longest = max(w.seconds for w in self.windows) + MARGIN_SECONDS
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            async with self.database.transaction() as connection:
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._lock_key}
                )
                row = (
                    await connection.execute(
                        _TAKE,
                        {
                            "bucket": self.bucket,
                            "stale": self.stale_after_seconds,
                            "longest": longest,
                        },
                    )
                ).one()
                delay = self._delay(row.now, list(row.finished or []), int(row.in_flight))
                if delay == 0:
                    slot_id = (
                        await connection.execute(
                            text(
                                "INSERT INTO rate_slots (bucket, started_at) "
                                "VALUES (:bucket, clock_timestamp()) RETURNING id"
                            ),
                            {"bucket": self.bucket},
                        )
                    ).scalar_one()
                    await connection.execute(
                        text(
                            "DELETE FROM rate_slots WHERE bucket = :bucket "
                            "AND started_at < clock_timestamp() - make_interval(secs => :old)"
                        ),
                        {"bucket": self.bucket, "old": self.stale_after_seconds + longest},
                    )
                    self.waited_seconds += loop.time() - started
                    return int(slot_id)
            await asyncio.sleep(POLL_SECONDS if delay is None else min(delay, 1.0))

    def _delay(self, now: float, finished: list[float], in_flight: int) -> float | None:
        """0 when a request may start now, else seconds until one may; None when it must
        wait for a request in flight to finish."""
        delay = 0.0
        for window in self.windows:
            span = window.seconds + MARGIN_SECONDS
            counted = [f for f in finished if f > now - span]
            must_leave = in_flight + len(counted) + 1 - window.requests
            if must_leave <= 0:
                continue
            if must_leave > len(counted):
                return None
            delay = max(delay, counted[must_leave - 1] + span - now)
        return delay

    async def _give_back(self, slot_id: int) -> None:
        with contextlib.suppress(Exception):  # unstamped, it stops counting when stale
            async with self.database.transaction() as connection:
                await connection.execute(
                    text("UPDATE rate_slots SET finished_at = clock_timestamp() WHERE id = :id"),
                    {"id": slot_id},
                )
