"""A budget for log lines that anyone on the internet can cause.

Refused requests are worth a line each while they are rare and a summary once they are
not: an attacker must not be able to fill the disk or drown the dashboard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LogBudget:
    """At most `lines` lines per `window_seconds` for each key; the rest are counted and
    the count is handed to the next line let through."""

    lines: int = 10
    window_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _windows: dict[str, tuple[float, int, int]] = field(default_factory=dict)

    def admit(self, key: str) -> int | None:
        """None to stay quiet; otherwise how many lines of this key were held back since
        the last one let through."""
        now = self.clock()
        started, used, held_back = self._windows.get(key, (now, 0, 0))
        if now - started >= self.window_seconds:
            started, used = now, 0
        if used >= self.lines:
            self._windows[key] = (started, used, held_back + 1)
            return None
        if len(self._windows) > 1024 and key not in self._windows:
            self._windows.clear()  # keys are few and fixed; never let them grow unbounded
        self._windows[key] = (started, used + 1, 0)
        return held_back
