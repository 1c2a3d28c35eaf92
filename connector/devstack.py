"""A whole local installation on loopback: both sandbox partners and a real connector
daemon on a temporary SQLite file, wired together the way an operator would wire them.

Used by `connector demo` and by the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.app import Daemon
from connector.domain.lifecycle import OrderState
from connector.domain.records import OrderRecord
from connector.rxscale.client import RxScaleClient
from connector.sandbox.empower_records import FulfilmentScript, WebhookTarget
from connector.sandbox.empower_server import EmpowerSandbox
from connector.sandbox.ratelimit import SlidingWindowLimit
from connector.sandbox.runner import RunningSandbox, listening_socket, start_sandbox, url_of
from connector.sandbox.rxscale_server import EVENT_TYPES, RxScaleSandbox
from connector.settings import Settings, isolated
from connector.store import order_queries

RXSCALE_API_KEY = "rxs_sandbox_key"
EMPOWER_API_KEY = "emp_sandbox_key"


@dataclass
class StackOptions:
    database_url: str | None = None  # default: a SQLite file in the stack's directory
    fulfilment: FulfilmentScript = field(default_factory=FulfilmentScript)
    # RxScale's limit, enforced by the sandbox and respected by the connector alike;
    # None: neither limits (the sandbox default).
    rate_limit: SlidingWindowLimit | None = None
    complete_on: str = "shipped"
    mapping: dict[str, Any] = field(default_factory=dict)
    reconcile: dict[str, Any] = field(default_factory=dict)
    stock: dict[str, Any] = field(default_factory=dict)
    empower_auth_scheme: str = "bearer"
    worker: dict[str, Any] = field(
        default_factory=lambda: {
            "concurrency": 4,
            "backoff_base_seconds": 0.05,
            "backoff_max_seconds": 0.5,
            "retry_for_seconds": 60.0,
            "idle_seconds": 1.0,
            "shutdown_grace_seconds": 5.0,
        }
    )
    seed: int | None = None


class LocalStack:
    def __init__(self, directory: Path, options: StackOptions | None = None) -> None:
        self.directory = directory
        self.options = options or StackOptions()
        self._sandbox: RunningSandbox | None = None
        self._daemon: Daemon | None = None
        self._replicas: list[Daemon] = []

    @property
    def sandbox(self) -> RunningSandbox:
        assert self._sandbox is not None, "the stack is not started"
        return self._sandbox

    @property
    def daemon(self) -> Daemon:
        assert self._daemon is not None, "the stack is not started"
        return self._daemon

    @property
    def settings(self) -> Settings:
        return self.daemon.settings

    async def __aenter__(self) -> LocalStack:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self._sandbox = await start_sandbox(
            RxScaleSandbox(
                api_key=RXSCALE_API_KEY, rate_limit=self.options.rate_limit, seed=self.options.seed
            ),
            EmpowerSandbox(
                api_key=EMPOWER_API_KEY, fulfilment=self.options.fulfilment, seed=self.options.seed
            ),
        )
        try:
            listener = listening_socket("127.0.0.1", 0)
            connector_url = url_of(listener)
            signing_secrets = await self._subscribe(connector_url)
            empower_key = secrets.token_urlsafe(24)
            self.sandbox.empower.webhook = WebhookTarget(
                url=f"{connector_url}/webhooks/empower",
                key=empower_key,
                scheme=self.options.empower_auth_scheme,
            )
            settings = isolated(
                Settings,
                database_url=self.options.database_url
                or f"sqlite:///{self.directory / 'connector.db'}",
                log_level="info",
                http={"host": "127.0.0.1", "port": listener.getsockname()[1]},
                rxscale={
                    "base_url": self.sandbox.rxscale_url,
                    "api_key": RXSCALE_API_KEY,
                    "webhook_secrets": signing_secrets,
                    **self._rate_limit(),
                },
                empower={
                    "base_url": self.sandbox.empower_url,
                    "api_key": EMPOWER_API_KEY,
                    "webhook_keys": [empower_key],
                },
                worker=self.options.worker,
                complete_on=self.options.complete_on,
                mapping=self.options.mapping,
                reconcile=self.options.reconcile,
                stock=self.options.stock,
            )
            self._daemon = Daemon(settings, listen_socket=listener)
            await self._daemon.start()
        except BaseException:
            await self.sandbox.close()
            raise

    def _rate_limit(self) -> dict[str, int]:
        limit = self.options.rate_limit
        return {
            "rate_limit_per_second": (limit.per_second or 0) if limit else 0,
            "rate_limit_per_minute": (limit.per_minute or 0) if limit else 0,
        }

    async def _subscribe(self, connector_url: str) -> list[str]:
        """Register RxScale's webhooks through its API, as `connector webhooks` would."""
        client = RxScaleClient(self.sandbox.rxscale_url, RXSCALE_API_KEY)
        try:
            created = [
                await client.create_webhook(f"{connector_url}/webhooks/rxscale", event)
                for event in EVENT_TYPES
            ]
        finally:
            await client.close()
        return [s.signing_secret for s in created if s.signing_secret]

    async def add_replica(self, **worker: Any) -> Daemon:
        """Another daemon on the same database (PostgreSQL), with its own port and worker
        settings; the sandbox's webhooks keep going to the first one."""
        settings = self.settings.model_copy(
            update={"worker": self.settings.worker.model_copy(update=worker)}
        )
        replica = Daemon(settings, listen_socket=listening_socket("127.0.0.1", 0))
        await replica.start()
        self._replicas.append(replica)
        return replica

    async def restart_daemon(self, settings: Settings | None = None) -> None:
        """Stop the connector and start a new one on the same port and database, perhaps
        with changed settings (as an operator would after fixing a map)."""
        settings = settings or self.daemon.settings
        await self.daemon.stop()
        listener = listening_socket(settings.http.host, settings.http.port)
        self._daemon = Daemon(settings, listen_socket=listener)
        await self._daemon.start()

    async def stop(self) -> None:
        for replica in self._replicas:
            await replica.stop()
        self._replicas.clear()
        if self._daemon is not None:
            await self._daemon.stop()
            self._daemon = None
        if self._sandbox is not None:
            await self._sandbox.close()
            self._sandbox = None

    def push_orders(self, count: int, **overrides: Any) -> list[str]:
        """New orders at RxScale; each one arrives at the connector by webhook."""
        return [self.sandbox.rxscale.add_order(**overrides) for _ in range(count)]

    async def records(self, uids: Iterable[str] | None = None) -> dict[str, OrderRecord]:
        async with self.daemon.database.engine.connect() as connection:
            found = await order_queries.list_orders(connection, limit=100_000)
        wanted = set(uids) if uids is not None else None
        return {r.rxscale_uid: r for r in found if wanted is None or r.rxscale_uid in wanted}

    async def wait_for_states(
        self, uids: Iterable[str], states: Iterable[OrderState], *, within: float = 30.0
    ) -> dict[str, OrderRecord]:
        """Wait until every order is in one of `states`; returns the records either way."""
        wanted, targets = list(uids), set(states)

        async def settled() -> bool:
            records = await self.records(wanted)
            return len(records) == len(wanted) and all(r.state in targets for r in records.values())

        await wait_until(settled, within=within)
        return await self.records(wanted)


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, within: float, interval: float = 0.05
) -> bool:
    deadline = time.monotonic() + within
    while True:
        if await condition():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
