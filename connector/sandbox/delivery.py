"""Webhook delivery as the partners do it: POST, retry with backoff on failure, and,
when asked, deliver everything twice."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp


@dataclass
class DeliveryRecord:
    url: str
    status: int | None
    attempt: int


@dataclass
class DeliveryChaos:
    """Webhooks as an unreliable platform sends them (the chaos run)."""

    drop: float = 0.0  # never sent at all
    duplicate: float = 0.0  # sent twice
    max_delay_seconds: float = 0.0  # held back a random while: deliveries overtake each other
    seed: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def copies(self) -> list[float]:
        """The delays of the copies to send of one delivery (none: dropped)."""
        if self.drop and self.rng.random() < self.drop:
            self._count("dropped")
            return []
        count = 1
        if self.duplicate and self.rng.random() < self.duplicate:
            self._count("duplicated")
            count = 2
        delays = [self.rng.uniform(0, self.max_delay_seconds) for _ in range(count)]
        if any(delays):
            self._count("delayed")
        return delays

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


@dataclass
class WebhookSender:
    attempts: int = 6
    backoff_seconds: float = 0.2
    timeout_seconds: float = 5.0
    duplicate: bool = False
    chaos: DeliveryChaos | None = None
    log: list[DeliveryRecord] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _session: aiohttp.ClientSession | None = None

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        """Deliver in the background, like the real platforms do."""
        delays = self.chaos.copies() if self.chaos else [0.0] * (2 if self.duplicate else 1)
        for delay in delays:
            task = asyncio.get_running_loop().create_task(
                self._deliver(url, body, dict(headers), delay)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self, url: str, body: bytes, headers: dict[str, str], delay: float = 0.0
    ) -> None:
        if delay:
            await asyncio.sleep(delay)
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
