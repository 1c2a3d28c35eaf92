"""Switchable faults for the sandbox servers: latency, errors, 429s, hangs, and failures
that happen after the request took effect (the ambiguous kind)."""

from __future__ import annotations

import asyncio
import fnmatch
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CONTROL_PREFIX = "/_sandbox/"
HANG_SECONDS = 3600.0


@dataclass
class FaultRule:
    method: str = "*"
    path: str = "*"  # fnmatch pattern, e.g. "/v1/orders" or "*/status"
    status: int | None = None  # answer this instead of the real response
    retry_after: float | None = None
    delay_seconds: float = 0.0
    hang: bool = False  # never answer within any sensible client timeout
    after_commit: bool = False  # do the real work, then answer `status`
    hold_response_seconds: float = 0.0  # do the real work, then wait before answering
    times: int | None = 1  # how many requests it hits; None = until cleared

    def matches(self, method: str, path: str) -> bool:
        method_ok = self.method == "*" or self.method.upper() == method.upper()
        return method_ok and fnmatch.fnmatchcase(path, self.path)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> FaultRule:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(document) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**document)


CHAOS_KINDS = ("500", "503", "429", "429-retry-after", "timeout", "reset", "lost-answer")


@dataclass
class Chaos:
    """Random faults on a share of all requests (the chaos run), and outages."""

    rate: float = 0.0
    seed: int | None = None
    kinds: tuple[str, ...] = CHAOS_KINDS
    outage_until: float = 0.0  # time.monotonic() before which everything is 503
    hang_seconds: float = 30.0  # a "timeout": longer than the client waits
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def pick(self) -> str | None:
        if time.monotonic() < self.outage_until:
            return self._count("outage")
        if self.rate and self.rng.random() < self.rate:
            return self._count(self.rng.choice(self.kinds))
        return None

    def _count(self, kind: str) -> str:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return kind


@dataclass
class FaultPlan:
    rules: list[FaultRule] = field(default_factory=list)
    chaos: Chaos = field(default_factory=Chaos)

    def add(self, *rules: FaultRule) -> None:
        self.rules.extend(rules)

    def clear(self) -> None:
        self.rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        for rule in self.rules:
            if rule.matches(method, path):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                return rule
        return None


ErrorRenderer = Callable[[int, str], web.StreamResponse]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fault_middleware(plan: FaultPlan, render_error: ErrorRenderer) -> Any:
    @web.middleware
    async def apply_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        rule = plan.take(request.method, request.path)
        if rule is None:
            chaos = plan.chaos.pick()
            if chaos is None:
                return await handler(request)
            return await _chaos(chaos, plan.chaos, request, handler, render_error)
        if rule.delay_seconds:
            await asyncio.sleep(rule.delay_seconds)
        if rule.hang:
            await asyncio.sleep(HANG_SECONDS)
        if rule.status is None:
            real = await handler(request)
            await asyncio.sleep(rule.hold_response_seconds)
            return real
        if rule.after_commit:
            await handler(request)
            await asyncio.sleep(rule.hold_response_seconds)
        response = render_error(rule.status, f"sandbox fault: HTTP {rule.status}")
        if rule.retry_after is not None:
            response.headers["Retry-After"] = f"{rule.retry_after:g}"
        return response

    return apply_faults


async def _chaos(
    kind: str, chaos: Chaos, request: web.Request, handler: Handler, render_error: ErrorRenderer
) -> web.StreamResponse:
    match kind:
        case "timeout":
            await asyncio.sleep(chaos.hang_seconds)
        case "reset":
            if request.transport is not None:
                request.transport.close()  # the connection drops: no answer at all
            return web.Response(status=500)
        case "lost-answer":
            await handler(request)  # it takes effect, and the answer is lost
            return render_error(503, "sandbox chaos: the answer was lost")
        case "429-retry-after":
            response = render_error(429, "sandbox chaos: rate limited")
            response.headers["Retry-After"] = "1"
            return response
    status = int(kind[:3]) if kind[:3].isdigit() else 503
    return render_error(status, f"sandbox chaos: {kind}")


async def read_fault_rules(request: web.Request) -> list[FaultRule]:
    document = await request.json()
    items = document.get("rules", [document]) if isinstance(document, dict) else document
    return [FaultRule.from_json(item) for item in items]


def add_fault_control(app: web.Application, plan: FaultPlan, render_error: ErrorRenderer) -> None:
    """`POST /_sandbox/faults` adds rules (one, a list, or {"rules": [...]}); DELETE clears."""

    async def add(request: web.Request) -> web.StreamResponse:
        try:
            rules = await read_fault_rules(request)
        except (ValueError, TypeError) as exc:
            return render_error(400, str(exc))
        plan.add(*rules)
        return web.json_response({"rules": len(plan.rules)})

    async def clear(_request: web.Request) -> web.StreamResponse:
        plan.clear()
        return web.json_response({"rules": 0})

    app.router.add_post(f"{CONTROL_PREFIX}faults", add)
    app.router.add_delete(f"{CONTROL_PREFIX}faults", clear)
