"""The composition root: builds settings into a running daemon, and stops it cleanly.

Start: database (migrated: SQLite here, PostgreSQL by `connector migrate`), partner clients,
job handlers, worker, web server. Stop (SIGTERM): readiness turns false, intake stops,
in-flight jobs get the grace period, the rest go back to the queue, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Mapping

import structlog
from aiohttp import web

from connector import __version__
from connector.domain.clock import Clock, SystemClock
from connector.domain.jobs import JobKind
from connector.domain.mapping import MappingPolicy
from connector.domain.retry import RetryPolicy
from connector.empower.client import EmpowerClient
from connector.metrics import Metrics
from connector.partner.ratelimit import Rate, RateLimiter
from connector.pipeline.base import Dependencies, JobHandler
from connector.pipeline.cancel import CancelOrder
from connector.pipeline.events import ApplyEmpowerEvent
from connector.pipeline.intake import AcceptOrder
from connector.pipeline.placement import PlaceOrder
from connector.pipeline.progress import HoldOrder, MarkInProgress
from connector.pipeline.reconcile import Reconcile, RefreshOrder
from connector.pipeline.scheduler import Periodic, Scheduler
from connector.pipeline.stock import SyncStock
from connector.pipeline.worker import JobSignal, Worker, WorkerConfig
from connector.rxscale.client import RxScaleClient
from connector.settings import Settings
from connector.store.database import Database
from connector.store.migrate import head_revisions, is_up_to_date, upgrade_to_head
from connector.store.notify import JobNotificationListener
from connector.store.process_lock import AlreadyLocked, ProcessLock
from connector.systemd import SystemdNotifier
from connector.web.context import ServiceState, WebContext
from connector.web.server import build_web_app

log = structlog.get_logger("connector.app")


class StartupError(Exception):
    """The daemon cannot start; the message says why in one line."""


def build_handlers(deps: Dependencies) -> Mapping[JobKind, JobHandler]:
    return {
        JobKind.ACCEPT_ORDER: AcceptOrder(deps),
        JobKind.PLACE_ORDER: PlaceOrder(deps),
        JobKind.MARK_IN_PROGRESS: MarkInProgress(deps),
        JobKind.EMPOWER_EVENT: ApplyEmpowerEvent(deps),
        JobKind.HOLD_ORDER: HoldOrder(deps),
        JobKind.CANCEL_ORDER: CancelOrder(deps),
        JobKind.RECONCILE: Reconcile(deps),
        JobKind.REFRESH_ORDER: RefreshOrder(deps),
        JobKind.SYNC_STOCK: SyncStock(deps),
    }


def mapping_policy(settings: Settings) -> MappingPolicy:
    return MappingPolicy(
        default_shipping_method=settings.empower.default_shipping_method,
        product_map=dict(settings.mapping.products),
        prescriber_npis=dict(settings.mapping.prescribers),
        require_npi=settings.mapping.require_npi,
    )


def rxscale_limiter(settings: Settings) -> RateLimiter:
    return RateLimiter(
        Rate(settings.rxscale.rate_limit_per_second, 1.0),
        Rate(settings.rxscale.rate_limit_per_minute, 60.0),
    )


def periodic_work(settings: Settings) -> list[Periodic]:
    periodic = [Periodic(JobKind.RECONCILE, settings.reconcile.interval_seconds)]
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
            max_attempts=w.max_attempts,
            base_seconds=w.backoff_base_seconds,
            max_seconds=w.backoff_max_seconds,
        ),
    )


class Daemon:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        listen_socket: socket.socket | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.state = ServiceState()
        self.metrics = Metrics()
        self.systemd = SystemdNotifier()
        self.database = Database(settings.database_url)
        self.rxscale = RxScaleClient(
            settings.rxscale.base_url,
            settings.rxscale.api_key.get_secret_value(),
            pharmacy_uid=settings.rxscale.pharmacy_uid,
            timeout_seconds=settings.rxscale.timeout_seconds,
            limiter=rxscale_limiter(settings),
            observer=self.metrics.upstream_request,
        )
        self.empower = EmpowerClient(
            settings.empower.base_url,
            settings.empower.api_key.get_secret_value(),
            timeout_seconds=settings.empower.timeout_seconds,
            observer=self.metrics.upstream_request,
        )
        self.signal = JobSignal()
        deps = Dependencies(
            database=self.database,
            rxscale=self.rxscale,
            empower=self.empower,
            policy=mapping_policy(settings),
            clock=self.clock,
            complete_on=settings.complete_on,
            stale_after_seconds=settings.reconcile.stale_after_seconds,
        )
        self.worker = Worker(
            self.database,
            build_handlers(deps),
            worker_config(settings),
            self.clock,
            signal=self.signal,
            metrics=self.metrics,
        )
        self.scheduler = Scheduler(self.database, periodic_work(settings), self.clock, self.signal)
        self.listener = (
            JobNotificationListener(self.database.url, self.signal.notify)
            if self.database.is_postgresql
            else None
        )
        self._process_lock = (
            ProcessLock(self.database.sqlite_file) if self.database.sqlite_file else None
        )
        self._listen_socket = listen_socket
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False
        self.url = ""

    def tasks_alive(self) -> bool:
        """Every background task (worker, listener) is still running."""
        return bool(self._tasks) and all(not task.done() for task in self._tasks)

    @property
    def runs_worker(self) -> bool:
        return self.settings.worker.concurrency > 0

    async def start(self) -> None:
        self._lock_sqlite_file()
        try:
            await self._prepare_database()
            await self._start_web()
        except BaseException:
            self._release_sqlite_file()
            raise
        if self.listener is not None:
            self._tasks.append(asyncio.create_task(self.listener.run(), name="notify-listener"))
        if self.runs_worker:
            self._tasks.append(
                asyncio.create_task(
                    self.worker.run(self.settings.worker.shutdown_grace_seconds), name="worker"
                )
            )
            if self.scheduler.periodic:
                self._tasks.append(asyncio.create_task(self.scheduler.run(), name="scheduler"))
        if self.systemd.watchdog_seconds:
            self._tasks.append(asyncio.create_task(self.systemd.keep_alive(), name="watchdog"))
        self.systemd.notify("READY=1", f"STATUS=serving on {self.url}")
        log.info(
            "daemon_ready",
            version=__version__,
            url=self.url,
            database=self.database.describe(),
            worker_id=self.worker.worker_id if self.runs_worker else None,
        )

    def _lock_sqlite_file(self) -> None:
        if self._process_lock is None:
            return
        try:
            self._process_lock.acquire()
        except AlreadyLocked:
            raise StartupError(
                f"another connector process is using {self.database.sqlite_file}; SQLite "
                "allows one per database file (use PostgreSQL for several replicas)"
            ) from None

    def _release_sqlite_file(self) -> None:
        if self._process_lock is not None:
            self._process_lock.release()

    async def _prepare_database(self) -> None:
        try:
            if self.database.is_sqlite:
                await upgrade_to_head(self.database)
            elif not await is_up_to_date(self.database):
                raise StartupError(
                    "the database schema is not current; run `connector migrate` first"
                )
        except StartupError:
            raise
        except Exception as exc:
            raise StartupError(
                f"cannot use the database {self.database.describe()}: {type(exc).__name__}: {exc}"
            ) from exc
        self.state.schema_heads = head_revisions()

    async def _start_web(self) -> None:
        context = WebContext(
            database=self.database,
            rxscale_secrets=[s.get_secret_value() for s in self.settings.rxscale.webhook_secrets],
            empower_keys=[k.get_secret_value() for k in self.settings.empower.webhook_keys],
            clock=self.clock,
            on_enqueued=self.signal.notify,
            state=self.state,
            max_body_bytes=self.settings.http.max_body_bytes,
            stock_sync=self.settings.stock.sync_interval_seconds is not None,
            metrics=self.metrics,
        )
        self._runner = web.AppRunner(
            build_web_app(context), handle_signals=False, access_log=None, shutdown_timeout=5.0
        )
        await self._runner.setup()
        site: web.BaseSite
        if self._listen_socket is not None:
            site = web.SockSite(self._runner, self._listen_socket)
        else:
            site = web.TCPSite(self._runner, self.settings.http.host, self.settings.http.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise StartupError(
                f"cannot listen on {self.settings.http.host}:{self.settings.http.port}: "
                f"{exc.strerror}"
            ) from exc
        self.url = _site_url(site)

    async def stop(self) -> None:
        """Readiness false, stop claiming, (optionally) keep serving a moment, close the
        listener, let in-flight jobs finish within the grace period, hand back the rest."""
        if self._stopped:
            return
        self._stopped = True
        log.info("daemon_stopping", in_flight=self.worker.in_flight)
        self.systemd.notify("STOPPING=1", "STATUS=finishing in-flight work")
        self.state.draining = True
        self.worker.stop()
        if self.settings.http.shutdown_delay_seconds:
            await asyncio.sleep(self.settings.http.shutdown_delay_seconds)
        if self._runner is not None:
            await self._runner.cleanup()  # no new webhooks; in-flight requests finish
        for task in self._tasks:
            if task.get_name() != "worker":
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.rxscale.close()
        await self.empower.close()
        await self.database.close()
        self._release_sqlite_file()
        log.info("daemon_stopped")

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set; if a background task dies, stop and report it."""
        await self.start()
        stopper = asyncio.create_task(stop.wait(), name="stop-signal")
        try:
            done, _ = await asyncio.wait(
                {stopper, *self._tasks}, return_when=asyncio.FIRST_COMPLETED
            )
            died = [task for task in done if task is not stopper]
            if died and not stop.is_set():
                task = died[0]
                error = task.exception() if not task.cancelled() else None
                log.error("background_task_died", task=task.get_name(), error=repr(error))
                raise StartupError(f"{task.get_name()} stopped unexpectedly: {error!r}")
        finally:
            stopper.cancel()
            await self.stop()


async def serve(settings: Settings) -> None:
    """`connector run`: serve until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await Daemon(settings).run_until_stopped(stop)


def _site_url(site: web.BaseSite) -> str:
    server = getattr(site, "_server", None)
    sockets = getattr(server, "sockets", None) or []
    if sockets:
        host, port = sockets[0].getsockname()[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}"
    return site.name
