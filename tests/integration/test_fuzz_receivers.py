"""Property-based fuzzing of both receivers over real HTTP, against a real SQLite file.

Whatever arrives: never a 5xx, never a dropped connection without an answer, never an
error-level line or a traceback in the log, and never a 2xx or a stored row for a request
without valid credentials. The requests come from `bench/hostile.py`, the generator the
by-hand fuzz run uses, driven here by hypothesis; signed JSON of any shape comes from
hypothesis's own strategies.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bench.hostile import KINDS, Credentials, HostileRequest, generate, send, sign
from connector.domain.clock import SystemClock
from connector.logging import configure_logging
from connector.receive.empower import EmpowerReceiver
from connector.receive.rxscale import RxScaleReceiver
from connector.store.database import Database
from connector.store.migrate import head_revisions, upgrade_to_head
from connector.store.tables import jobs_table, received_webhooks_table
from connector.web.context import ServiceState, WebContext
from connector.web.server import build_web_app

CREDENTIALS = Credentials("whsec_fuzz_secret_0123456789", "empower-fuzz-key-0123456789")
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Target:
    server: TestServer
    database: Database
    log: io.StringIO

    async def rows(self) -> int:
        async with self.database.connect() as c:
            webhooks = await c.scalar(select(func.count()).select_from(received_webhooks_table))
            jobs = await c.scalar(select(func.count()).select_from(jobs_table))
        return int(webhooks or 0) + int(jobs or 0)

    async def send(self, request: HostileRequest) -> int:
        assert self.server.port is not None
        return await send(self.server.host, self.server.port, request)

    def assert_log_clean(self) -> None:
        output = self.log.getvalue()
        assert '"level": "error"' not in output
        assert "Traceback" not in output
        assert '"exception"' not in output


@pytest.fixture
async def target(sqlite_url: str) -> AsyncIterator[Target]:
    database = Database(sqlite_url)
    await upgrade_to_head(database)
    log = io.StringIO()
    configure_logging("debug", "json", stream=log)
    context = WebContext(
        database=database,
        rxscale=RxScaleReceiver(database, [CREDENTIALS.rxscale_secret]),
        empower=EmpowerReceiver(database, [CREDENTIALS.empower_key]),
        clock=SystemClock(),
        on_enqueued=lambda: None,
        state=ServiceState(schema_heads=head_revisions()),
        max_body_bytes=64 * 1024,
    )
    server = TestServer(build_web_app(context), host="127.0.0.1")
    await server.start_server()
    try:
        yield Target(server, database, log)
    finally:
        await server.close()
        await database.close()
        configure_logging("warning", "json")


async def check(target: Target, request: HostileRequest) -> None:
    before = await target.rows()
    status = await target.send(request)
    assert 100 <= status < 500, (request.kind, status)
    if not request.authentic:
        assert status >= 400, (request.kind, status)
        assert await target.rows() == before, request.kind
    target.assert_log_clean()


@FUZZ
@given(rng=st.randoms(use_true_random=False), kind=st.sampled_from(KINDS))
async def test_no_request_breaks_the_receivers(
    target: Target, rng: random.Random, kind: str
) -> None:
    await check(target, generate(rng, kind, CREDENTIALS))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(st.characters(codec=None), max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)


async def answered_200_or_400(
    target: Target, path: bytes, credentials: tuple[bytes, bytes], body: bytes
) -> None:
    """An authentic delivery of any shape is taken or refused as malformed, nothing else."""
    headers = [(b"Content-Type", b"application/json"), credentials]
    status = await target.send(HostileRequest("hypothesis", b"POST", path, headers, body, True))
    assert status in (200, 400), status
    target.assert_log_clean()


@FUZZ
@given(
    document=st.fixed_dictionaries(
        {"event_type": st.sampled_from(["pharmacy_order_created", "pharmacy_order_updated"])},
        optional={"timestamp": JSON, "data": JSON, "payload_version": JSON, "extra": JSON},
    )
)
async def test_signed_rxscale_json_of_any_shape_is_answered_200_or_400(
    target: Target, document: dict[str, object]
) -> None:
    body = json.dumps(document).encode("utf-8", "surrogatepass")
    signature = (b"X-Webhook-Signature", sign(body, CREDENTIALS.rxscale_secret))
    await answered_200_or_400(target, b"/webhooks/rxscale", signature, body)


@FUZZ
@given(
    document=st.fixed_dictionaries(
        {"callback_type": st.sampled_from(["SHIPMENT", "ORDER", "NOTIFY_RX", "OTHER"])},
        optional={"request_id": JSON, "status": JSON, "details": JSON, "timestamp": JSON},
    )
)
async def test_authentic_empower_json_of_any_shape_is_answered_200_or_400(
    target: Target, document: dict[str, object]
) -> None:
    body = json.dumps(document).encode("utf-8", "surrogatepass")
    key = (b"Authorization", b"Bearer " + CREDENTIALS.empower_key.encode())
    await answered_200_or_400(target, b"/webhooks/empower", key, body)


@FUZZ
@given(
    body=st.binary(max_size=4096),
    path=st.sampled_from([b"/webhooks/rxscale", b"/webhooks/empower"]),
)
async def test_arbitrary_bytes_are_refused_and_leave_nothing(
    target: Target, body: bytes, path: bytes
) -> None:
    request = HostileRequest("bytes", b"POST", path, [(b"Content-Type", b"application/json")], body)
    await check(target, request)
