"""A client-side rate limiter: no more requests start than the partner allows.

RxScale allows 10 requests a second and 600 a minute per key. Waiting here, rather than
drawing 429s and backing off, lets a backlog drain at the allowed rate.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# Requests reach the partner a little after they start here; a small margin on each window
# keeps our count on the safe side of theirs at the window's edge.
MARGIN_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Rate:
    requests: int
    per_seconds: float


class RateLimiter:
    def __init__(
        self,
        *rates: Rate,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._rates = [r for r in rates if r.requests > 0]
        self._starts: list[deque[float]] = [deque() for _ in self._rates]
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self.waited_seconds = 0.0

    async def acquire(self) -> None:
        """Wait until one more request may start under every rate, then count it."""
        async with self._lock:  # first come, first served
            while True:
                now = self._clock()
                wait = 0.0
                for rate, starts in zip(self._rates, self._starts, strict=True):
                    window = rate.per_seconds + MARGIN_SECONDS
                    while starts and starts[0] <= now - window:
                        starts.popleft()
                    if len(starts) >= rate.requests:
                        wait = max(wait, starts[0] + window - now)
                if wait <= 0:
                    for starts in self._starts:
                        starts.append(now)
                    return
                self.waited_seconds += wait
                await self._sleep(wait)
