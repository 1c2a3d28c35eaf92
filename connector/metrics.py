"""Prometheus metrics. Labels carry kinds, states and outcomes, never an order, patient or
token value, so their number stays small and nothing identifying leaves through them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from connector import __version__
from connector.domain.errors import Partner
from connector.domain.jobs import JobState
from connector.domain.lifecycle import OrderState
from connector.store.stats import DatabaseFigures

UPSTREAM_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def status_class(status: int | None) -> str:
    """`2xx`, `4xx`, `5xx`… or `error` when no answer came (timeout, connection)."""
    return f"{status // 100}xx" if status is not None else "error"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._webhook_counters: dict[tuple[str, str], Counter] = {}
        self.webhooks = Counter(
            "connector_webhooks_received_total",
            "Webhook deliveries, by source and what became of them.",
            ["source", "outcome"],
            registry=r,
        )
        self.jobs = Counter(
            "connector_jobs_total",
            "Job runs, by kind and outcome (succeeded, retried, rate_limited, failed, dead, "
            "lease_lost).",
            ["kind", "outcome"],
            registry=r,
        )
        self.upstream = Histogram(
            "connector_upstream_request_duration_seconds",
            "Calls to the partners, by partner, operation and status class.",
            ["partner", "operation", "status_class"],
            buckets=UPSTREAM_BUCKETS,
            registry=r,
        )
        self.queued = Gauge(
            "connector_jobs_queued", "Jobs waiting to run, due now or later.", registry=r
        )
        self.oldest_due = Gauge(
            "connector_oldest_due_job_age_seconds",
            "How long the oldest job that is due has been waiting to start.",
            registry=r,
        )
        self.dead = Gauge(
            "connector_jobs_dead", "Jobs out of attempts, waiting for a person.", registry=r
        )
        self.failed = Gauge(
            "connector_jobs_failed",
            "Jobs that failed for good (e.g. an order Empower refused).",
            registry=r,
        )
        self.orders = Gauge("connector_orders", "Orders by connector state.", ["state"], registry=r)
        self.oldest_on_hold = Gauge(
            "connector_oldest_on_hold_order_age_seconds",
            "How long the order on hold the longest has been waiting for a person.",
            registry=r,
        )
        self.unmatched = Gauge(
            "connector_unmatched_news",
            "Empower deliveries about orders this connector never placed (kept for the record).",
            registry=r,
        )
        self.cancellations_refused = Gauge(
            "connector_cancellations_refused_recently",
            "Orders cancelled at RxScale that Empower had shipped, in the last 24 hours.",
            registry=r,
        )
        self.redriven = Gauge(
            "connector_jobs_redriven_repeatedly",
            "Jobs not done that re-drive has given three runs or more: work that keeps failing.",
            registry=r,
        )
        self.ready = Gauge(
            "connector_ready", "1 while this process takes webhooks and works.", registry=r
        )
        self.database_up = Gauge(
            "connector_database_up", "1 when the last scrape could read the database.", registry=r
        )
        Gauge("connector_build_info", "The running version.", ["version"], registry=r).labels(
            __version__
        ).set(1)

    def webhook(self, source: str, outcome: str) -> None:
        # One counter per (source, outcome), a fixed handful: looked up here rather than
        # through `labels()` (a lock and a validation) once per delivery.
        counter = self._webhook_counters.get((source, outcome))
        if counter is None:
            counter = self._webhook_counters[source, outcome] = self.webhooks.labels(
                source, outcome
            )
        counter.inc()

    def job(self, kind: str, outcome: str) -> None:
        self.jobs.labels(kind, outcome).inc()

    def upstream_request(
        self, partner: Partner, operation: str, status: int | None, seconds: float
    ) -> None:
        self.upstream.labels(partner.value, operation, status_class(status)).observe(seconds)

    def describe_database(self, figures: DatabaseFigures) -> None:
        """Gauges that describe the database, set from figures read at each scrape."""
        jobs_by_state = figures.jobs_by_state
        self.queued.set(jobs_by_state.get(JobState.QUEUED, 0))
        self.dead.set(jobs_by_state.get(JobState.DEAD, 0))
        self.failed.set(jobs_by_state.get(JobState.FAILED, 0))
        self.oldest_due.set(figures.oldest_due_seconds)
        for state in OrderState:  # every state, so that a dashboard shows zeroes, not gaps
            self.orders.labels(state.value).set(figures.orders_by_state.get(state, 0))
        self.oldest_on_hold.set(figures.oldest_on_hold_seconds)
        self.unmatched.set(figures.unmatched_news)
        self.redriven.set(figures.jobs_redriven_repeatedly)
        self.cancellations_refused.set(figures.cancellations_refused_recently)

    def render(self) -> bytes:
        return generate_latest(self.registry)
