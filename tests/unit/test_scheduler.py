"""Periodic jobs (connector.work.scheduler)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.domain.jobs import JobKind
from connector.work.scheduler import Periodic, Scheduler
from connector.work.signal import JobSignal


class FixedClock:
    def __init__(self, when: datetime) -> None:
        self.when = when

    def now(self) -> datetime:
        return self.when


def test_periodic_jobs_have_one_key_per_period() -> None:
    clock = FixedClock(datetime(2026, 11, 22, 12, 0, 10, tzinfo=UTC))
    scheduler = Scheduler(
        database=None,  # type: ignore[arg-type]
        periodic=[Periodic(JobKind.RECONCILE, 300), Periodic(JobKind.SYNC_STOCK, 0)],
        clock=clock,
        signal=JobSignal(),
    )
    [first] = scheduler.due()  # a zero interval is off
    assert first.kind is JobKind.RECONCILE
    clock.when += timedelta(seconds=100)
    [same] = scheduler.due()
    assert same.unique_key == first.unique_key
    clock.when += timedelta(seconds=200)
    [later] = scheduler.due()
    assert later.unique_key != first.unique_key
    assert 0 < scheduler.seconds_to_next_period() <= 300
