"""How settings become the parts of a daemon: clients, handlers, worker and scheduler
settings, the receivers. Part of the composition root, kept apart from the daemon's life."""

from __future__ import annotations

from collections.abc import Mapping

from connector.domain.jobs import JobKind
from connector.domain.mapping import MappingPolicy
from connector.domain.retry import RetryPolicy
from connector.empower.client import EmpowerClient
from connector.metrics import Metrics
from connector.partner.http import Limiter
from connector.partner.ratelimit import Rate, RateLimiter
from connector.receive.empower import EmpowerReceiver
from connector.receive.recorder import Recorder
from connector.receive.rxscale import RxScaleReceiver
from connector.rxscale.client import RxScaleClient
from connector.settings import Settings
from connector.store.database import Database
from connector.store.rate_limit import SharedRateLimiter, Window
from connector.work.accept import AcceptOrder
from connector.work.base import Dependencies, JobHandler
from connector.work.cancel import CancelOrder
from connector.work.news import ApplyEmpowerNews
from connector.work.placement import PlaceOrder
from connector.work.progress import HoldOrder, MarkInProgress
from connector.work.prune import Prune
from connector.work.reconcile import Reconcile, RefreshOrder
from connector.work.redrive import Redrive
from connector.work.scheduler import Periodic
from connector.work.stock import SyncStock
from connector.work.worker import WorkerConfig


def build_handlers(deps: Dependencies) -> Mapping[JobKind, JobHandler]:
    return {
        JobKind.ACCEPT_ORDER: AcceptOrder(deps),
        JobKind.PLACE_ORDER: PlaceOrder(deps),
        JobKind.MARK_IN_PROGRESS: MarkInProgress(deps),
        JobKind.EMPOWER_NEWS: ApplyEmpowerNews(deps),
        JobKind.HOLD_ORDER: HoldOrder(deps),
        JobKind.CANCEL_ORDER: CancelOrder(deps),
        JobKind.RECONCILE: Reconcile(deps),
        JobKind.REFRESH_ORDER: RefreshOrder(deps),
        JobKind.SYNC_STOCK: SyncStock(deps),
        JobKind.REDRIVE: Redrive(deps),
        JobKind.PRUNE: Prune(deps),
    }


def mapping_policy(settings: Settings) -> MappingPolicy:
    return MappingPolicy(
        default_shipping_method=settings.empower.default_shipping_method,
        product_map=dict(settings.mapping.products),
        prescriber_npis=dict(settings.mapping.prescribers),
        require_npi=settings.mapping.require_npi,
    )


def rxscale_limiter(settings: Settings, database: Database | None = None) -> Limiter:
    """RxScale's limits per key. On PostgreSQL every replica shares one budget through the
    database (a rolling update with one replica more draws no 429); on SQLite there is one
    process, and its own limiter suffices."""
    per_second = settings.rxscale.rate_limit_per_second
    per_minute = settings.rxscale.rate_limit_per_minute
    if database is not None and database.is_postgresql:
        return SharedRateLimiter(
            database,
            "rxscale",
            [Window(per_second, 1.0), Window(per_minute, 60.0)],
            # No request outlives the client's timeout: a slot a dead replica left
            # unstamped is finished by then.
            stale_after_seconds=settings.rxscale.timeout_seconds + 1.0,
        )
    return RateLimiter(Rate(per_second, 1.0), Rate(per_minute, 60.0))


def rxscale_client(
    settings: Settings, metrics: Metrics | None = None, *, limiter: Limiter | None = None
) -> RxScaleClient:
    return RxScaleClient(
        settings.rxscale.base_url,
        settings.rxscale.api_key.get_secret_value(),
        pharmacy_uid=settings.rxscale.pharmacy_uid,
        timeout_seconds=settings.rxscale.timeout_seconds,
        limiter=limiter,
        observer=metrics.upstream_request if metrics is not None else None,
    )


def empower_client(settings: Settings, metrics: Metrics | None = None) -> EmpowerClient:
    return EmpowerClient(
        settings.empower.base_url,
        settings.empower.api_key.get_secret_value(),
        timeout_seconds=settings.empower.timeout_seconds,
        observer=metrics.upstream_request if metrics is not None else None,
    )


def receivers(
    settings: Settings, database: Database, recorder: Recorder | None = None
) -> tuple[RxScaleReceiver, EmpowerReceiver]:
    rxscale = RxScaleReceiver(
        database,
        [s.get_secret_value() for s in settings.rxscale.webhook_secrets],
        stock_sync=settings.stock.sync_interval_seconds is not None,
        recorder=recorder,
    )
    empower = EmpowerReceiver(
        database,
        [k.get_secret_value() for k in settings.empower.webhook_keys],
        frozenset(settings.empower.webhook_auth_forms),
        recorder=recorder,
    )
    return rxscale, empower


PRUNE_EVERY_SECONDS = 3600.0


def periodic_work(settings: Settings) -> list[Periodic]:
    periodic = [
        Periodic(JobKind.RECONCILE, settings.reconcile.interval_seconds),
        Periodic(JobKind.REDRIVE, settings.worker.redrive_interval_seconds),
    ]
    if settings.retention.days:
        periodic.append(Periodic(JobKind.PRUNE, PRUNE_EVERY_SECONDS))
    if settings.stock.sync_interval_seconds:
        periodic.append(Periodic(JobKind.SYNC_STOCK, settings.stock.sync_interval_seconds))
    return periodic


def worker_config(settings: Settings) -> WorkerConfig:
    w = settings.worker
    return WorkerConfig(
        concurrency=w.concurrency,
        lease_seconds=w.lease_seconds,
        idle_seconds=w.idle_seconds,
        retry=RetryPolicy(
            base_seconds=w.backoff_base_seconds,
            max_seconds=w.backoff_max_seconds,
            retry_for_seconds=w.retry_for_seconds,
            max_lease_expiries=w.max_lease_expiries,
        ),
    )
