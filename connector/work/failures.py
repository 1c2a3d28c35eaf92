"""What becomes of a job that raised: retried with backoff, failed for good, or buried,
each recorded in one transaction fenced by the job's lease. Also what a finished job's
outcome writes, shared with the worker's success path."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.clock import Clock
from connector.domain.errors import PartnerError, RetryLater, unexpected
from connector.domain.jobs import Job, JobState
from connector.domain.outcome import NOTHING, Outcome
from connector.domain.retry import Bury, Fail, Retry, RetryPolicy, Uniform, classify, decide
from connector.metrics import Metrics
from connector.receive.empower import SOURCE as EMPOWER
from connector.receive.intake import intake_order
from connector.store import job_queries, jobs, orders, webhooks
from connector.store.database import Database
from connector.work.base import JobHandler
from connector.work.signal import JobSignal

log = structlog.get_logger("connector.worker")


async def record_outcome(
    connection: AsyncConnection, job: Job, outcome: Outcome, now: datetime
) -> list[int]:
    """The order change, its follow-ups, any orders to take in and dead jobs to run again;
    ids of the jobs now queued."""
    await orders.apply_outcome(connection, outcome, now, job_id=job.id)
    new_jobs = await jobs.enqueue(connection, outcome.follow_ups, now)
    for uid in outcome.intake:
        new_jobs += await intake_order(connection, uid, now)
    await webhooks.mark_unmatched(connection, EMPOWER, outcome.unmatched)
    if outcome.requeue:
        new_jobs += await job_queries.requeue(
            connection, now, job_ids=outcome.requeue, redrive=True
        )
    return new_jobs


def describe(error: BaseException) -> str:
    """What is stored with the job and logged: our own errors say what they mean (a partner's
    text is scrubbed where patient data was sent); anything else only its type and place."""
    if isinstance(error, PartnerError):
        return error.describe()
    if isinstance(error, RetryLater):
        return f"RetryLater: {error}"
    return unexpected(error)


class Failures:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        policy: RetryPolicy,
        rng: Uniform,
        metrics: Metrics,
        signal: JobSignal,
        worker_id: str,
    ) -> None:
        self.database = database
        self.clock = clock
        self.policy = policy
        self.rng = rng
        self.metrics = metrics
        self.signal = signal
        self.worker_id = worker_id

    async def bury_crash_loop(self, job: Job) -> None:
        reason = (
            f"its worker vanished {job.lease_expiries} times while running it (the lease "
            "expired each time): it may be crashing the process"
        )
        try:
            await self.give_up(job, JobState.DEAD, reason, NOTHING)
        except jobs.LeaseLost:
            return
        self.metrics.job(job.kind.value, "dead")
        log.error("job_dead", failure="lease_expired", error=reason)

    async def failed(self, job: Job, handler: JobHandler, error: Exception) -> None:
        kind, retry_after = classify(error)
        now = self.clock.now()
        failing_for = (now - job.first_failed_at).total_seconds() if job.first_failed_at else 0.0
        decision = decide(
            self.policy, job.attempts, kind, retry_after, self.rng, failing_for=failing_for
        )
        reason = describe(error)
        failure = {"failure": kind.value, "error": reason}
        if isinstance(error, PartnerError) and error.request_id:
            failure["request_id"] = error.request_id
        try:
            match decision:
                case Retry(delay_seconds=delay, counts_as_attempt=counts):
                    async with self.database.transaction() as connection:
                        await jobs.reschedule(
                            connection,
                            job.id,
                            self.worker_id,
                            now,
                            delay_seconds=delay,
                            error=reason,
                            counts_as_attempt=counts,
                        )
                    self.metrics.job(job.kind.value, "retried" if counts else "rate_limited")
                    log.warning("job_retry_scheduled", delay_seconds=round(delay, 2), **failure)
                case Fail():
                    outcome = NOTHING
                    if isinstance(error, PartnerError):
                        outcome = await handler.on_permanent_failure(job, error)
                    await self.give_up(job, JobState.FAILED, reason, outcome)
                    self.metrics.job(job.kind.value, "failed")
                    log.error("job_failed", **failure)
                case Bury():
                    reason = f"{reason} (still failing after {failing_for:.0f} s of retries)"
                    await self.give_up(job, JobState.DEAD, reason, NOTHING)
                    self.metrics.job(job.kind.value, "dead")
                    log.error("job_dead", **failure)
        except jobs.LeaseLost:
            self.metrics.job(job.kind.value, "lease_lost")
            log.warning("job_lease_lost", **failure)
        except Exception as exc:  # the lease lapses; the job returns
            log.exception("job_failure_not_recorded", record_error=type(exc).__name__, **failure)

    async def give_up(self, job: Job, state: JobState, reason: str, outcome: Outcome) -> None:
        now = self.clock.now()
        async with self.database.transaction() as connection:
            await jobs.give_up(connection, job.id, self.worker_id, now, state=state, error=reason)
            new_jobs = await record_outcome(connection, job, outcome, now)
        if new_jobs:
            self.signal.notify()
