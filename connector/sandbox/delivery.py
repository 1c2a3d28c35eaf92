"""Webhook delivery as the partners do it: POST, retry with backoff on failure, and,
when asked, deliver everything twice."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp


@dataclass
class DeliveryRecord:
    url: str
    status: int | None
    attempt: int


@dataclass
class WebhookSender:
    attempts: int = 6
    backoff_seconds: float = 0.2
    timeout_seconds: float = 5.0
    duplicate: bool = False
    log: list[DeliveryRecord] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _session: aiohttp.ClientSession | None = None

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        """Deliver in the background, like the real platforms do."""
        copies = 2 if self.duplicate else 1
        for _ in range(copies):
            task = asyncio.get_running_loop().create_task(self._deliver(url, body, dict(headers)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds)
            )
        for attempt in range(1, self.attempts + 1):
            status: int | None = None
            try:
                async with self._session.post(url, data=body, headers=headers) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError):
                status = None
            self.log.append(DeliveryRecord(url=url, status=status, attempt=attempt))
            if status is not None and 200 <= status < 300:
                return
            await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def delivered(self, url: str | None = None) -> int:
        return sum(
            1
            for record in self.log
            if record.status is not None
            and 200 <= record.status < 300
            and (url is None or record.url == url)
        )
