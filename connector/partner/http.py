"""A partner's HTTP session: sends requests, times them, turns network failures into ours.

Status codes are left to the adapter, which knows how its partner spells errors.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
import structlog
from multidict import CIMultiDictProxy

from connector import __version__
from connector.domain.errors import Partner, TransientError

USER_AGENT = f"rxscale-empower-connector/{__version__}"

log = structlog.get_logger("connector.partner")


def path_segment(value: str) -> str:
    """An id made safe as one segment of a URL path (a `/` in it cannot change the route)."""
    return quote(value, safe="")


class RequestObserver(Protocol):
    def __call__(
        self, partner: Partner, operation: str, status: int | None, seconds: float
    ) -> None: ...


class Limiter(Protocol):
    def slot(self) -> AbstractAsyncContextManager[None]: ...


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class PartnerHttp:
    def __init__(
        self,
        partner: Partner,
        base_url: str,
        *,
        headers: Mapping[str, str],
        timeout_seconds: float,
        limiter: Limiter | None = None,
        observer: RequestObserver | None = None,
        max_connections: int = 20,
    ) -> None:
        self.partner = partner
        self.base_url = base_url.rstrip("/")
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._limiter = limiter
        self._observer = observer
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                raise_for_status=False,
                middlewares=(self._limited,) if self._limiter is not None else (),
            )
        return self._session

    async def _limited(
        self, request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        """Every attempt that reaches the wire takes a place in the limiter, including the
        one aiohttp makes on its own when a pooled connection turns out to be closed:
        the partner counts that one too."""
        assert self._limiter is not None
        async with self._limiter.slot():
            return await send(request)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpReply:
        return await self._send(operation, method, path, json_body, params, headers)

    async def _send(
        self,
        operation: str,
        method: str,
        path: str,
        json_body: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> HttpReply:
        session = self._open()
        started = time.monotonic()
        status: int | None = None
        try:
            async with session.request(
                method,
                f"{self.base_url}{path}",
                json=json_body,
                params=params,
                headers=headers,
            ) as response:
                body = await response.read()
                status = response.status
                reply = HttpReply(status=response.status, headers=response.headers, body=body)
        except TimeoutError as exc:
            raise TransientError(self.partner, operation, "timed out") from exc
        except aiohttp.ClientError as exc:
            raise TransientError(
                self.partner, operation, f"connection failed ({type(exc).__name__})"
            ) from exc
        finally:
            elapsed = time.monotonic() - started
            if self._observer is not None:
                self._observer(self.partner, operation, status, elapsed)
            log.debug(
                "upstream_request",
                partner=self.partner.value,
                operation=operation,
                method=method,
                status=status,
                duration_ms=round(elapsed * 1000, 1),
            )
        return reply
