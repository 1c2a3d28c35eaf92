"""A partner's HTTP session: sends requests, times them, turns network failures into ours.

Status codes are left to the adapter, which knows how its partner spells errors.

What leaves and what comes back is bounded: the credentials go only to the configured
origin (never to another host, whatever the URL), redirects are not followed (a partner
API that redirects is misconfigured, and aiohttp would carry `X-API-Key` along), and an
answer larger than `max_response_bytes` is refused unread.
"""

from __future__ import annotations

import contextlib
import contextvars
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
from yarl import URL

from connector import __version__
from connector.domain.errors import (
    Partner,
    PermanentError,
    TransientError,
    UnreadableResponse,
)

USER_AGENT = f"rxscale-empower-connector/{__version__}"

log = structlog.get_logger("connector.partner")


# Set while a request holds the limiter place it took before aiohttp's timer started; the
# first attempt on the wire uses it, any silent re-send by aiohttp takes one of its own.
_prepaid: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar(
    "prepaid_slot", default=None
)


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


# Far above any answer either partner documents (an order with its prescription file is
# the largest), far below what would hurt the process.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class ResponseTooLarge(Exception):
    pass


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
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.partner = partner
        self.base_url = base_url.rstrip("/")
        self._origin = URL(self.base_url).origin()
        self._credentials = dict(headers)
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        self._max_response_bytes = max_response_bytes
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
                middlewares=(
                    (self._credentialed, self._limited)
                    if self._limiter is not None
                    else (self._credentialed,)
                ),
            )
        return self._session

    async def _credentialed(
        self, request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        """The partner's credentials, added to a request for its own origin only."""
        if request.url.origin() != self._origin:
            raise CredentialsWithheld(str(request.url.origin()))
        request.headers.update(self._credentials)
        return await send(request)

    async def _limited(
        self, request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        """Every attempt that reaches the wire takes a place in the limiter, including the
        one aiohttp makes on its own when a pooled connection turns out to be closed:
        the partner counts that one too. The first attempt uses the place `_send` took."""
        assert self._limiter is not None
        prepaid = _prepaid.get()
        if prepaid is not None and prepaid[0]:
            prepaid[0] = False
            return await send(request)
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
        session = self._open()
        # The wait for a place under the rate limit comes before the request and outside
        # its timeout: a long wait must not time out a request that then reaches the wire.
        waiting = self._limiter.slot() if self._limiter is not None else contextlib.nullcontext()
        async with waiting:
            token = _prepaid.set([True] if self._limiter is not None else None)
            try:
                return await self._send(
                    session, operation, method, path, json_body, params, headers
                )
            finally:
                _prepaid.reset(token)

    async def _send(
        self,
        session: aiohttp.ClientSession,
        operation: str,
        method: str,
        path: str,
        json_body: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> HttpReply:
        started = time.monotonic()
        status: int | None = None
        try:
            async with session.request(
                method,
                f"{self.base_url}{path}",
                json=json_body,
                params=params,
                headers=headers,
                allow_redirects=False,
            ) as response:
                body = await self._read_capped(response)
                status = response.status
                reply = HttpReply(status=response.status, headers=response.headers, body=body)
        except TimeoutError as exc:
            raise TransientError(self.partner, operation, "timed out") from exc
        except ResponseTooLarge as exc:
            raise UnreadableResponse(
                self.partner, operation, f"answer larger than {self._max_response_bytes} bytes"
            ) from exc
        except CredentialsWithheld as exc:
            raise PermanentError(
                self.partner, operation, f"refused to send credentials to {exc}"
            ) from exc
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

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self._max_response_bytes
        if response.content_length is not None and response.content_length > limit:
            raise ResponseTooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge
            chunks.append(chunk)
        return b"".join(chunks)


class CredentialsWithheld(Exception):
    """A request for another origin than the partner's; its credentials were not added."""
