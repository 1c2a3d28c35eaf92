"""redrive: whatever is not at rest and has no live job is picked up again, by itself.

An order's work can stop without it being at rest: its job died after days of failure, or
vanished (pruned, lost to an operator's mistake). Re-drive finds such orders and gives them
another run, never doubling anything: every step is safe to repeat (it reads the partner
before it writes), and the order runs one job at a time.

- A dead job of an order not at rest is queued again (its count of re-drives grows; the
  alert on jobs re-driven again and again catches work that keeps failing).
- An order waiting for one of our steps with no job at all gets that step again.
- An order with a job that failed for good is left for a person (its alert says so).
- News that died waiting for its order runs again: bound to the order if it is known by
  now, kept as unmatched otherwise.
"""

from __future__ import annotations

from connector.domain.jobs import Job, JobSpec
from connector.domain.lifecycle import AT_REST_STATES
from connector.domain.outcome import Outcome
from connector.domain.workflow import STEP_AWAITED, redriven_step
from connector.store.stalled import dead_news_without_an_order, stalled_orders
from connector.work.base import Handler, log


class Redrive(Handler):
    async def run(self, job: Job) -> Outcome:
        async with self.deps.database.connect() as connection:
            stalled = await stalled_orders(connection, AT_REST_STATES, STEP_AWAITED)
            # Parked news that died: it is bound to its order now, or ends unmatched.
            requeue = await dead_news_without_an_order(connection)
        run = job.payload.get("bucket", job.id)
        steps: list[JobSpec] = []
        for order in stalled:
            if order.dead_jobs:
                requeue.extend(order.dead_jobs)
            elif not order.has_failed_job and order.state in STEP_AWAITED:
                kind = STEP_AWAITED[order.state]
                steps.append(redriven_step(kind, order.uid, order.generation, run))
        if requeue or steps:
            log.warning("orders_redriven", dead_jobs_requeued=len(requeue), steps_queued=len(steps))
        return Outcome(
            requeue=tuple(requeue),
            follow_ups=tuple(steps),
            detail={"requeued": len(requeue), "queued": len(steps)},
        )
