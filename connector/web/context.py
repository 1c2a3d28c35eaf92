"""What the web handlers are given by the composition root."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from connector.domain.clock import Clock
from connector.metrics import Metrics
from connector.store.database import Database


@dataclass
class ServiceState:
    """Set by the daemon; read by /readyz."""

    draining: bool = False
    schema_heads: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class WebContext:
    database: Database
    rxscale_secrets: Sequence[str]
    empower_keys: Sequence[str]
    clock: Clock
    on_enqueued: Callable[[], None]
    state: ServiceState
    max_body_bytes: int
    metrics: Metrics = field(default_factory=Metrics)
    stock_sync: bool = False


CONTEXT = web.AppKey("context", WebContext)
