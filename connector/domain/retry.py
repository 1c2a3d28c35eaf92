"""The retry policy: a pure function from a failure to what happens next."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from connector.domain.errors import (
    AuthError,
    PermanentError,
    RateLimitedError,
    RetryLater,
)

# A Retry-After longer than this is treated as this: a partner's typo must not park work
# for days.
MAX_RETRY_AFTER_SECONDS = 3600.0


class FailureKind(StrEnum):
    TRANSIENT = "transient"
    RATE_LIMITED = "rate_limited"
    PERMANENT = "permanent"
    AUTH = "auth"


class Uniform(Protocol):
    def uniform(self, a: float, b: float, /) -> float: ...


# A partner outage of hours is ordinary; the webhook services pharmacies rely on keep
# retrying for a day or more (Stripe: 3 days). A weekend passes within this.
DEFAULT_RETRY_FOR_SECONDS = 72 * 3600.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 2.0
    max_seconds: float = 300.0
    # A transient failure is retried for this long after the job first failed: bounded by
    # time, not by a count of attempts that one ordinary outage would use up.
    retry_for_seconds: float = DEFAULT_RETRY_FOR_SECONDS
    # A job whose worker vanished this many times while running it (its lease expired)
    # is taken to crash its process, and is buried rather than run again.
    max_lease_expiries: int = 5


@dataclass(frozen=True, slots=True)
class Retry:
    delay_seconds: float
    # A rate-limited call did no work and says nothing about the job, so it does not use
    # up one of the job's attempts.
    counts_as_attempt: bool = True


@dataclass(frozen=True, slots=True)
class Fail:
    """Permanent: retrying cannot help."""


@dataclass(frozen=True, slots=True)
class Bury:
    """Out of time: the job is dead and stays visible for a person."""


Decision = Retry | Fail | Bury


def classify(error: BaseException) -> tuple[FailureKind, float | None]:
    if isinstance(error, RateLimitedError):
        return FailureKind.RATE_LIMITED, error.retry_after
    if isinstance(error, PermanentError):
        return FailureKind.PERMANENT, None
    if isinstance(error, AuthError):
        return FailureKind.AUTH, None
    if isinstance(error, RetryLater):
        return FailureKind.TRANSIENT, None
    # Transient partner errors, lost database races and our own bugs alike: retry with
    # backoff; a bug ends as a dead job an operator can see, not as a crashed daemon.
    return FailureKind.TRANSIENT, None


def backoff_delay(attempt: int, policy: RetryPolicy, rng: Uniform) -> float:
    """Exponential backoff with full jitter, capped (attempt counts from 1)."""
    ceiling = min(policy.max_seconds, policy.base_seconds * 2 ** max(attempt - 1, 0))
    return rng.uniform(0.0, ceiling)


def decide(
    policy: RetryPolicy,
    attempt: int,
    kind: FailureKind,
    retry_after: float | None = None,
    rng: Uniform | None = None,
    *,
    failing_for: float = 0.0,
) -> Decision:
    """`attempt` counts from 1; `failing_for` is how long ago the job first failed."""
    rng = rng if rng is not None else random.Random()
    if kind is FailureKind.PERMANENT:
        return Fail()
    if failing_for >= policy.retry_for_seconds:
        return Bury()
    if kind is FailureKind.RATE_LIMITED:
        if retry_after is not None and retry_after >= 0:
            return Retry(min(retry_after, MAX_RETRY_AFTER_SECONDS), counts_as_attempt=False)
        return Retry(backoff_delay(attempt, policy, rng), counts_as_attempt=False)
    if kind is FailureKind.AUTH:
        # Wrong credentials are fixed by a person; retry at the slowest pace meanwhile.
        return Retry(policy.max_seconds)
    return Retry(backoff_delay(attempt, policy, rng))
