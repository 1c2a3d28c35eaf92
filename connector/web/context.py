"""What the web handlers are given by the composition root."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from connector.domain.clock import Clock
from connector.metrics import Metrics
from connector.receive.empower import EmpowerReceiver
from connector.receive.rxscale import RxScaleReceiver
from connector.store.database import Database
from connector.throttle import LogBudget
from connector.web.sources import Network


@dataclass
class ServiceState:
    """Set by the daemon; read by /readyz."""

    draining: bool = False
    schema_heads: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class WebContext:
    database: Database
    rxscale: RxScaleReceiver
    empower: EmpowerReceiver
    clock: Clock
    on_enqueued: Callable[[], None]
    state: ServiceState
    max_body_bytes: int
    metrics: Metrics = field(default_factory=Metrics)
    # The body of a request must arrive within this once its headers have.
    read_timeout_seconds: float = 10.0
    trusted_proxies: Sequence[Network] = ()
    # Where Empower's deliveries may come from; empty allows any source.
    empower_sources: Sequence[Network] = ()
    # Lines that strangers can cause (refusals) are budgeted.
    refusal_log: LogBudget = field(default_factory=LogBudget)


CONTEXT = web.AppKey("context", WebContext)
