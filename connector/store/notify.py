"""PostgreSQL LISTEN: wakes this replica's worker when any replica enqueues work.

`jobs.enqueue` issues `pg_notify` inside its transaction, so the notification arrives when
the work is committed and visible, never before. The listener holds one dedicated
connection (outside the pool), reconnects when it is lost, and wakes the worker after every
(re)connect in case a notification was missed meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog
from sqlalchemy.engine import URL

from connector.store.jobs import NOTIFY_CHANNEL

log = structlog.get_logger("connector.store")


def asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class JobNotificationListener:
    def __init__(
        self,
        url: URL,
        on_notify: Callable[[], None],
        *,
        channel: str = NOTIFY_CHANNEL,
        retry_seconds: float = 1.0,
        max_retry_seconds: float = 30.0,
    ) -> None:
        self._dsn = asyncpg_dsn(url)
        self._on_notify = on_notify
        self._channel = channel
        self._retry_seconds = retry_seconds
        self._max_retry_seconds = max_retry_seconds
        self.connected = asyncio.Event()
        self.notifications = 0

    async def run(self) -> None:
        """Listen until cancelled, reconnecting with capped backoff."""
        delay = self._retry_seconds
        while True:
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("notify_listener_unavailable", error=type(exc).__name__, retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_retry_seconds)
                continue
            delay = self._retry_seconds
            try:
                await self._listen_on(connection)
            finally:
                self.connected.clear()
                if not connection.is_closed():
                    await connection.close(timeout=2)

    async def _listen_on(self, connection: Any) -> None:
        lost = asyncio.Event()

        def on_termination(_connection: Any) -> None:
            lost.set()

        connection.add_termination_listener(on_termination)
        await connection.add_listener(self._channel, self._notified)
        self.connected.set()
        log.info("notify_listener_connected", channel=self._channel)
        self._on_notify()  # anything enqueued while we were not listening
        await lost.wait()
        log.warning("notify_listener_lost")

    def _notified(self, *_args: Any) -> None:
        self.notifications += 1
        self._on_notify()
