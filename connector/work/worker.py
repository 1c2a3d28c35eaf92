"""The worker: claims due jobs, runs their handlers, commits each result in one transaction.

A handler's outbound calls happen outside any transaction. Its result (job done, order
state change, history, follow-up jobs) is committed together, fenced by the job's lease.
A failure is classified by the retry policy: retried with backoff, failed for good, or
buried as dead once its retry window is used up (connector.work.failures). Nothing a
handler raises stops the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from connector.domain.clock import Clock
from connector.domain.jobs import Job, JobKind
from connector.domain.outcome import Outcome
from connector.domain.retry import RetryPolicy, Uniform
from connector.metrics import Metrics
from connector.store import job_queries, jobs
from connector.store.database import Database, StoreUnavailable
from connector.work.base import JobHandler
from connector.work.failures import Failures, record_outcome
from connector.work.signal import JobSignal

log = structlog.get_logger("connector.worker")


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    concurrency: int = 4
    lease_seconds: float = 60.0
    # The longest the worker sleeps when idle; new work wakes it at once.
    idle_seconds: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class Worker:
    def __init__(
        self,
        database: Database,
        handlers: Mapping[JobKind, JobHandler],
        config: WorkerConfig,
        clock: Clock,
        *,
        signal: JobSignal | None = None,
        worker_id: str | None = None,
        rng: Uniform | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        missing = set(JobKind) - set(handlers)
        if missing:
            raise ValueError(f"no handler for {sorted(k.value for k in missing)}")
        self.database = database
        self.handlers = handlers
        self.config = config
        self.clock = clock
        self.signal = signal or JobSignal()
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:12]}"
        self.rng: Uniform = rng or random.Random()
        self.metrics = metrics or Metrics()
        self.failures = Failures(
            database, clock, config.retry, self.rng, self.metrics, self.signal, self.worker_id
        )
        self._running: dict[int, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self.completed = 0

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def stop(self) -> None:
        """Stop claiming; `run` then drains what is in flight."""
        self._stopping.set()
        self.signal.notify()

    async def run(self, grace_seconds: float = 25.0) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(), name="lease-heartbeat")
        try:
            while not self._stopping.is_set():
                claimed = await self._claim_some()
                if claimed and self.in_flight < self.config.concurrency:
                    continue  # there may be more due right now
                await self._idle()
        finally:
            await self._drain(grace_seconds)
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _claim_some(self) -> int:
        free = self.config.concurrency - self.in_flight
        if free <= 0:
            return 0
        try:
            async with self.database.transaction() as connection:
                claimed = await jobs.claim(
                    connection,
                    self.worker_id,
                    free,
                    self.clock.now(),
                    self.config.lease_seconds,
                )
        except StoreUnavailable as exc:
            # Another replica raced us to a job of the same order, or the database is away:
            # either way, try again shortly rather than stop.
            log.warning("job_claim_failed", error=exc.cause_name)
            await asyncio.sleep(0.2)
            return 0
        for job in claimed:
            task = asyncio.create_task(self._execute_order_steps(job), name=f"job-{job.id}")
            self._running[job.id] = task
            task.add_done_callback(self._finished)
        return len(claimed)

    def _finished(self, task: asyncio.Task[None]) -> None:
        for job_id in [i for i, running in self._running.items() if running is task]:
            del self._running[job_id]
        self.signal.notify()  # a slot is free

    async def _idle(self) -> None:
        timeout = self.config.idle_seconds
        if self.in_flight < self.config.concurrency:
            wakeup = await self._next_wakeup()
            if wakeup is not None:
                timeout = min(timeout, (wakeup - self.clock.now()).total_seconds())
        await self.signal.wait_up_to(timeout)

    async def _next_wakeup(self) -> datetime | None:
        try:
            async with self.database.connect() as connection:
                return await job_queries.next_wakeup(connection)
        except StoreUnavailable:
            return None

    async def _execute_order_steps(self, job: Job) -> None:
        """Run `job`, then, while its order has a next step due, that step in this slot:
        an order moves on at once instead of queueing behind every other order, and a
        step can use what the one before it fetched (`handoff`)."""
        task = asyncio.current_task()
        current: Job | None = job
        while current is not None:
            following = await self._execute(current)
            if following is not None and task is not None:
                self._running.pop(current.id, None)
                self._running[following.id] = task
            current = following

    async def _execute(self, job: Job) -> Job | None:
        """Run one job and commit its result; the order's next job, if this worker took it."""
        context = {
            "job_id": job.id,
            "job_kind": job.kind.value,
            "order_uid": job.order_uid,
            "attempt": job.attempts,
        }
        if isinstance(job.payload.get("request_id"), str):
            context["request_id"] = job.payload["request_id"]  # Empower's, for support
        with structlog.contextvars.bound_contextvars(**context):
            handler = self.handlers[job.kind]
            if job.lease_expiries > self.config.retry.max_lease_expiries:
                await self.failures.bury_crash_loop(job)
                return None
            try:
                outcome = await handler.run(job)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # every failure is classified
                await self.failures.failed(job, handler, error)
                return None
            try:
                return await self._commit(job, outcome)
            except jobs.LeaseLost:
                self.metrics.job(job.kind.value, "lease_lost")
                log.warning("job_lease_lost")
            except Exception as error:  # e.g. the order moved meanwhile
                await self.failures.failed(job, handler, error)
            return None

    async def _commit(self, job: Job, outcome: Outcome) -> Job | None:
        """Commit the job's result. If that queued the order's next step, this worker takes
        it in the same transaction, so no other claim can come between the two."""
        now = self.clock.now()
        following = None
        async with self.database.transaction() as connection:
            await jobs.complete(connection, job.id, self.worker_id, now)
            new_jobs = await record_outcome(connection, job, outcome, now)
            if new_jobs and job.order_uid is not None and not self._stopping.is_set():
                following = await jobs.claim_next_of_order(
                    connection, self.worker_id, job.order_uid, now, self.config.lease_seconds
                )
        self.completed += 1
        self.metrics.job(job.kind.value, "succeeded")
        for transition in outcome.transitions:
            log.info(
                "order_state_changed",
                order_uid=outcome.order_uid,
                from_state=transition.before.value,
                to_state=transition.after.value,
                order_event=transition.event.value,
            )
        log.info(
            "job_succeeded",
            follow_ups=len(new_jobs),
            next_job_id=following.id if following is not None else None,
        )
        if (new_jobs and following is None) or len(new_jobs) > 1:
            self.signal.notify()  # for the queue to hand them out
        return following

    async def _heartbeat(self) -> None:
        interval = self.config.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            held = list(self._running)
            if not held:
                continue
            try:
                async with self.database.transaction() as connection:
                    kept = await jobs.renew_leases(
                        connection,
                        self.worker_id,
                        held,
                        self.clock.now(),
                        self.config.lease_seconds,
                    )
            except StoreUnavailable as exc:
                log.warning("lease_renewal_failed", error=exc.cause_name)
                continue
            for job_id in set(held) - kept:
                if job_id in self._running:
                    log.warning("job_lease_lost", job_id=job_id)

    async def _drain(self, grace_seconds: float) -> None:
        """Let in-flight jobs finish within the grace period; hand the rest back."""
        if not self._running:
            return
        log.info("worker_draining", in_flight=self.in_flight, grace_seconds=grace_seconds)
        pending = list(self._running.values())
        _done, unfinished = await asyncio.wait(pending, timeout=grace_seconds)
        leftover = [job_id for job_id, task in self._running.items() if task in unfinished]
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        if leftover:
            try:
                async with self.database.transaction() as connection:
                    released = await jobs.release(
                        connection, self.worker_id, leftover, self.clock.now()
                    )
                log.warning("jobs_released", count=released)
            except StoreUnavailable as exc:
                log.error("jobs_not_released", error=exc.cause_name, count=len(leftover))
