"""Every request a sandbox server answered, so tests can count what reached the partner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from connector.sandbox.faults import CONTROL_PREFIX, Handler


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    status: int


@dataclass
class RequestLog:
    seen: list[Seen] = field(default_factory=list)

    def middleware(self) -> Any:
        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            response = await handler(request)
            if not request.path.startswith(CONTROL_PREFIX):
                self.seen.append(Seen(request.method, request.path, response.status))
            return response

        return record

    def count(self, method: str, path_fragment: str, status: int | None = None) -> int:
        return sum(
            1
            for s in self.seen
            if s.method == method
            and path_fragment in s.path
            and (status is None or s.status == status)
        )
