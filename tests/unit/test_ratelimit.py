"""The client-side rate limiter (connector.partner.ratelimit)."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from connector.partner.ratelimit import Rate, RateLimiter


async def arrivals_under(limiter: RateLimiter, count: int, seed: int) -> list[float]:
    """Run `count` requests at once through the limiter; each takes a random time, and the
    "partner" registers it at a random moment while it runs (as a server sees arrivals)."""
    rng = random.Random(seed)
    arrivals: list[float] = []

    async def request() -> None:
        async with limiter.slot():
            started = time.monotonic()
            duration = rng.uniform(0.0, 0.04)
            arrivals.append(started + rng.uniform(0.0, duration))
            await asyncio.sleep(duration)

    await asyncio.gather(*(request() for _ in range(count)))
    return sorted(arrivals)


def most_in_any_window(arrivals: list[float], window: float) -> int:
    return max(sum(1 for b in arrivals if a <= b < a + window) for a in arrivals)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_partner_never_sees_more_than_allowed_in_any_window(seed: int) -> None:
    limiter = RateLimiter(Rate(5, 0.2))
    arrivals = await arrivals_under(limiter, 30, seed)
    assert most_in_any_window(arrivals, 0.2) <= 5
    assert limiter.waited_seconds > 0  # it did hold requests back
    assert arrivals[-1] - arrivals[0] >= (30 / 5 - 1) * 0.2


async def test_every_rate_is_kept_at_once() -> None:
    limiter = RateLimiter(Rate(5, 0.1), Rate(8, 0.6))
    arrivals = await arrivals_under(limiter, 16, seed=4)
    assert most_in_any_window(arrivals, 0.1) <= 5
    assert most_in_any_window(arrivals, 0.6) <= 8


async def test_a_zero_rate_is_no_limit() -> None:
    limiter = RateLimiter(Rate(0, 1.0))
    await arrivals_under(limiter, 50, seed=5)
    assert limiter.waited_seconds == 0
