"""The daemon: its parts (built by `wiring`), its start, its supervised background tasks,
and a clean stop.

Start: database (migrated: SQLite here, PostgreSQL by `connector migrate`), web server,
then the background tasks (worker, scheduler, notification listener, watchdog) in one
TaskGroup. If one of them dies, the others are cancelled and the daemon exits non-zero
for systemd or Kubernetes to restart it. Stop (SIGTERM): readiness turns false, intake
stops, in-flight jobs get the grace period, the rest go back to the queue, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Coroutine
from typing import Any

import structlog

from connector import __version__
from connector.domain.clock import Clock, SystemClock
from connector.domain.errors import unexpected
from connector.metrics import Metrics
from connector.receive.recorder import GroupCommit
from connector.settings import Settings
from connector.store.database import Database
from connector.store.migrate import head_revisions, is_up_to_date, upgrade_to_head
from connector.store.notify import JobNotificationListener
from connector.store.process_lock import AlreadyLocked, ProcessLock
from connector.systemd import SystemdNotifier
from connector.web.context import ServiceState, WebContext
from connector.web.server import ConnectionLimits, Listener, ListenError, WebServer
from connector.wiring import (
    build_handlers,
    empower_client,
    mapping_policy,
    periodic_work,
    receivers,
    rxscale_client,
    rxscale_limiter,
    worker_config,
)
from connector.work.base import Dependencies
from connector.work.scheduler import Scheduler
from connector.work.signal import JobSignal
from connector.work.worker import Worker

log = structlog.get_logger("connector.app")
WORKER_TASK = "worker"


class StartupError(Exception):
    """The daemon cannot start (or keep running); the message says why in one line."""


class BackgroundTaskEnded(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name} ended on its own")


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
        self.rxscale = rxscale_client(
            settings, self.metrics, limiter=rxscale_limiter(settings, self.database)
        )
        self.empower = empower_client(settings, self.metrics)
        self.signal = JobSignal()
        deps = Dependencies(
            database=self.database,
            rxscale=self.rxscale,
            empower=self.empower,
            policy=mapping_policy(settings),
            clock=self.clock,
            complete_on=settings.complete_on,
            stale_after_seconds=settings.reconcile.stale_after_seconds,
            unmatched_after_seconds=settings.worker.unmatched_after_seconds,
            retention_days=settings.retention.days,
            confirm_shipments=settings.empower.confirm_shipments,
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
        self._web: WebServer | None = None
        # Concurrent deliveries share transactions: one commit for a burst.
        self.recorder = GroupCommit(self.database)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._stopped = False
        self.url = ""
        self.metrics_url = ""

    def tasks_alive(self) -> bool:
        """Every background task (worker, listener, ...) is still running."""
        return bool(self._tasks) and all(not task.done() for task in self._tasks.values())

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
        started = asyncio.Event()
        self._supervisor = asyncio.create_task(self._supervise(started), name="supervisor")
        await started.wait()
        self.systemd.notify("READY=1", f"STATUS=serving on {self.url}")
        log.info(
            "daemon_ready",
            version=__version__,
            url=self.url,
            database=self.database.describe(),
            worker_id=self.worker.worker_id if self.runs_worker else None,
        )

    def _background_work(self) -> dict[str, Coroutine[Any, Any, None]]:
        work: dict[str, Coroutine[Any, Any, None]] = {}
        if self.listener is not None:
            work["notify-listener"] = self.listener.run()
        if self.runs_worker:
            work[WORKER_TASK] = self.worker.run(self.settings.worker.shutdown_grace_seconds)
            if self.scheduler.periodic:
                work["scheduler"] = self.scheduler.run()
        if self.systemd.watchdog_seconds:
            work["watchdog"] = self.systemd.keep_alive()
        return work

    async def _supervise(self, started: asyncio.Event) -> None:
        """Run every background task in one TaskGroup: when one fails, all stop."""
        async with asyncio.TaskGroup() as group:
            for name, work in self._background_work().items():
                self._tasks[name] = group.create_task(self._until_stopped(name, work), name=name)
            started.set()

    async def _until_stopped(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        await work
        if not self._stopped:
            raise BackgroundTaskEnded(name)

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
        http = self.settings.http
        rxscale, empower = receivers(self.settings, self.database, self.recorder)
        context = WebContext(
            database=self.database,
            rxscale=rxscale,
            empower=empower,
            clock=self.clock,
            on_enqueued=self.signal.notify,
            state=self.state,
            max_body_bytes=http.max_body_bytes,
            metrics=self.metrics,
            read_timeout_seconds=http.read_timeout_seconds,
            trusted_proxies=tuple(http.trusted_proxies),
            empower_sources=tuple(self.settings.empower.webhook_allowed_sources),
        )
        metrics_listener = None
        if http.metrics_host is not None and http.metrics_port is not None:
            metrics_listener = Listener(http.metrics_host, http.metrics_port)
        self._web = WebServer(
            context,
            Listener(http.host, http.port, self._listen_socket),
            ConnectionLimits(idle_timeout_seconds=http.idle_timeout_seconds),
            metrics_listener,
        )
        try:
            await self._web.start()
        except ListenError as exc:
            raise StartupError(str(exc)) from exc
        self.url = self._web.url
        self.metrics_url = self._web.metrics_url

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
        if self._web is not None:
            await self._web.stop()  # no new webhooks; in-flight requests finish
        await self.recorder.aclose()
        for name, task in self._tasks.items():
            if name != WORKER_TASK:
                task.cancel()  # a cancelled child ends quietly; the worker drains itself
        if self._supervisor is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._supervisor
        await self.rxscale.close()
        await self.empower.close()
        await self.database.close()
        self._release_sqlite_file()
        log.info("daemon_stopped")

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set; if a background task dies, stop and report it."""
        await self.start()
        assert self._supervisor is not None
        stopper = asyncio.create_task(stop.wait(), name="stop-signal")
        try:
            await asyncio.wait({stopper, self._supervisor}, return_when=asyncio.FIRST_COMPLETED)
            error = None if stop.is_set() else _first_error(self._supervisor)
            if error is not None:
                name = next((n for n, t in self._tasks.items() if _failed(t)), "a task")
                log.error("background_task_died", task=name, error=unexpected(error))
                raise StartupError(f"{name} stopped unexpectedly: {unexpected(error)}")
            await stopper  # nothing runs in the background (a web-only SQLite replica)
        finally:
            stopper.cancel()
            await self.stop()


def _failed(task: asyncio.Task[None]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is not None


def _first_error(supervisor: asyncio.Task[None]) -> BaseException | None:
    """The error that ended the TaskGroup (the first of its group, if several)."""
    if not supervisor.done() or supervisor.cancelled():
        return None
    error = supervisor.exception()
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


async def serve(settings: Settings) -> None:
    """`connector run`: serve until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await Daemon(settings).run_until_stopped(stop)
