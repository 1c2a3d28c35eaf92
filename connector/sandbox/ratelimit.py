"""RxScale's documented limit, as a partner enforces it: sliding windows per key."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class SlidingWindowLimit:
    per_second: int | None = 10
    per_minute: int | None = 600
    refused: int = 0
    _second: deque[float] = field(default_factory=deque)
    _minute: deque[float] = field(default_factory=deque)

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        for window, span in ((self._second, 1.0), (self._minute, 60.0)):
            while window and window[0] <= now - span:
                window.popleft()
        if (self.per_second is not None and len(self._second) >= self.per_second) or (
            self.per_minute is not None and len(self._minute) >= self.per_minute
        ):
            self.refused += 1
            return False
        self._second.append(now)
        self._minute.append(now)
        return True
