"""The wake-up call between whoever commits new work and the worker that runs it."""

from __future__ import annotations

import asyncio
import contextlib


class JobSignal:
    """Wakes the worker the moment new work is committed in this process."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()

    async def wait_up_to(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0.0)):
                await self._event.wait()
        self._event.clear()
