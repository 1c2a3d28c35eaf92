from __future__ import annotations

import random

import pytest

from connector.domain.errors import (
    AuthError,
    ConflictError,
    Partner,
    RateLimitedError,
    RetryLater,
)
from connector.domain.retry import (
    Bury,
    Fail,
    FailureKind,
    Retry,
    RetryPolicy,
    backoff_delay,
    classify,
    decide,
)

POLICY = RetryPolicy(base_seconds=2.0, max_seconds=30.0, retry_for_seconds=3600.0)


class Highest:
    """Always the top of the jitter range, to see the ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_ceiling_doubles_and_is_capped() -> None:
    ceilings = [backoff_delay(n, POLICY, Highest()) for n in range(1, 7)]
    assert ceilings == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_full_jitter_stays_within_zero_and_the_ceiling() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(4, POLICY, rng) for _ in range(500)]
    assert min(delays) >= 0.0
    assert max(delays) <= 16.0
    assert max(delays) - min(delays) > 8.0  # it really is spread out


def test_retries_are_bounded_by_time_not_by_a_count() -> None:
    many = decide(POLICY, 500, FailureKind.TRANSIENT, rng=Highest(), failing_for=3599.0)
    assert many == Retry(30.0)  # hundreds of attempts within the window: still retried
    assert isinstance(decide(POLICY, 2, FailureKind.TRANSIENT, failing_for=3600.0), Bury)


@pytest.mark.parametrize("kind", [FailureKind.RATE_LIMITED, FailureKind.AUTH])
def test_rate_limits_and_rejected_keys_are_retried_within_the_window_too(
    kind: FailureKind,
) -> None:
    assert isinstance(decide(POLICY, 3, kind, retry_after=1.0, failing_for=10.0), Retry)
    assert isinstance(decide(POLICY, 3, kind, retry_after=1.0, failing_for=3600.0), Bury)


def test_the_default_window_outlasts_a_long_weekend() -> None:
    assert RetryPolicy().retry_for_seconds >= 72 * 3600


def test_permanent_fails_at_once() -> None:
    assert isinstance(decide(POLICY, 1, FailureKind.PERMANENT), Fail)


def test_rate_limited_waits_retry_after_and_spends_no_attempt() -> None:
    decision = decide(POLICY, 5, FailureKind.RATE_LIMITED, retry_after=12.5)
    assert decision == Retry(12.5, counts_as_attempt=False)
    fallback = decide(POLICY, 2, FailureKind.RATE_LIMITED, rng=Highest())
    assert fallback == Retry(4.0, counts_as_attempt=False)


def test_auth_failures_retry_at_the_slowest_pace() -> None:
    assert decide(POLICY, 1, FailureKind.AUTH) == Retry(30.0)


def test_classification_of_errors() -> None:
    assert classify(RateLimitedError(Partner.RXSCALE, "op", "m", retry_after=3.0)) == (
        FailureKind.RATE_LIMITED,
        3.0,
    )
    assert classify(ConflictError(Partner.EMPOWER, "op", "m"))[0] is FailureKind.PERMANENT
    assert classify(AuthError(Partner.EMPOWER, "op", "m"))[0] is FailureKind.AUTH
    assert classify(RetryLater("x"))[0] is FailureKind.TRANSIENT
    assert classify(KeyError("bug"))[0] is FailureKind.TRANSIENT
