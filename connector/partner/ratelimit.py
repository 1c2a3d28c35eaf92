"""A client-side rate limiter: no more requests reach the partner than it allows.

RxScale allows 10 requests a second and 600 a minute per key. Waiting here, rather than
drawing 429s and backing off, lets a backlog drain at the allowed rate.

A request counts from when it starts until a window after it finished. The partner counts
it when it arrives, which is after it started and before it finished, so any window in
which the partner counts N requests, we counted at least N too, whatever the delays on the
way (a busy event loop, a wait for a pooled connection). Counting only start times would
let a delayed request land in the same partner window as later ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

# A little slack for clocks that tick at slightly different rates on either side.
MARGIN_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class Rate:
    requests: int
    per_seconds: float


class RateLimiter:
    def __init__(self, *rates: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self._rates = [r for r in rates if r.requests > 0]
        self._finished: list[deque[float]] = [deque() for _ in self._rates]
        self._in_flight = 0
        self._clock = clock
        self._condition = asyncio.Condition()
        self.waited_seconds = 0.0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a place for one request while it runs."""
        await self._take()
        try:
            yield
        finally:
            await self._give_back()

    def _delay(self, now: float) -> float | None:
        """0 when a request may start now, else seconds until one may; None when it must
        wait for a request in flight to finish."""
        delay = 0.0
        for rate, finished in zip(self._rates, self._finished, strict=True):
            window = rate.per_seconds + MARGIN_SECONDS
            while finished and finished[0] <= now - window:
                finished.popleft()
            must_leave = self._in_flight + len(finished) + 1 - rate.requests
            if must_leave <= 0:
                continue
            if must_leave > len(finished):
                return None
            delay = max(delay, finished[must_leave - 1] + window - now)
        return delay

    async def _take(self) -> None:
        async with self._condition:  # first come, first served
            while True:
                delay = self._delay(self._clock())
                if delay == 0:
                    self._in_flight += 1
                    return
                started = self._clock()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._condition.wait()
                self.waited_seconds += self._clock() - started

    async def _give_back(self) -> None:
        async with self._condition:
            self._in_flight -= 1
            now = self._clock()
            for finished in self._finished:
                finished.append(now)
            self._condition.notify_all()
