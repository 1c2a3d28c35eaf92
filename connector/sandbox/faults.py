"""Switchable faults for the sandbox servers: latency, errors, 429s, hangs, and failures
that happen after the request took effect (the ambiguous kind)."""

from __future__ import annotations

import asyncio
import fnmatch
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


@dataclass
class FaultPlan:
    rules: list[FaultRule] = field(default_factory=list)

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
            return await handler(request)
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
