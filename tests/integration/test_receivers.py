"""Both webhook receivers over real HTTP, against a real database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from connector.domain.clock import SystemClock
from connector.domain.jobs import JobKind
from connector.domain.lifecycle import OrderState
from connector.receive.empower import EmpowerReceiver
from connector.receive.rxscale import RxScaleReceiver
from connector.store import job_queries, order_queries, orders
from connector.store.database import Database
from connector.store.migrate import head_revisions
from connector.store.tables import received_webhooks_table
from connector.web.context import ServiceState, WebContext
from connector.web.server import build_web_app

SECRETS = ["whsec_old", "whsec_current"]
KEYS = ["empower-key-1"]
LIMIT = 64 * 1024


@dataclass
class Receiver:
    client: TestClient  # type: ignore[type-arg]
    database: Database
    state: ServiceState
    wakeups: list[int] = field(default_factory=list)

    async def rxscale(
        self, document: Any, *, secret: str | None = "whsec_current", raw: bytes | None = None
    ) -> ClientResponse:
        body = raw if raw is not None else json.dumps(document).encode()
        headers = {"Content-Type": "application/json", "X-Webhook-Event": "x"}
        if secret is not None:
            headers["X-Webhook-Signature"] = hmac.new(
                secret.encode(), body, hashlib.sha256
            ).hexdigest()
        return await self.client.post("/webhooks/rxscale", data=body, headers=headers)

    async def empower(
        self,
        document: Any,
        *,
        authorization: str | None = "Bearer empower-key-1",
        raw: bytes | None = None,
    ) -> ClientResponse:
        body = raw if raw is not None else json.dumps(document).encode()
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        return await self.client.post("/webhooks/empower", data=body, headers=headers)

    async def stored(self) -> tuple[int, int, int]:
        """Received webhooks, orders and jobs in the database."""
        async with self.database.engine.connect() as c:
            webhooks = (
                await c.execute(select(func.count()).select_from(received_webhooks_table))
            ).scalar_one()
            mapped = await order_queries.list_orders(c)
            return webhooks, len(mapped), len(await job_queries.list_jobs(c))


async def serve(database: Database, **options: Any) -> Receiver:
    """The web layer over `database` on a loopback port; `options` go to `WebContext`, and
    `receiver` to the Empower receiver."""
    wakeups: list[int] = []
    context = WebContext(
        database=database,
        rxscale=RxScaleReceiver(database, SECRETS),
        empower=EmpowerReceiver(database, KEYS, **options.pop("receiver", {})),
        clock=SystemClock(),
        on_enqueued=lambda: wakeups.append(1),
        state=ServiceState(schema_heads=head_revisions()),
        max_body_bytes=LIMIT,
        **options,
    )
    client = TestClient(TestServer(build_web_app(context)))
    await client.start_server()
    return Receiver(client, database, context.state, wakeups)


@pytest.fixture
async def receiver(database: Database) -> AsyncIterator[Receiver]:
    served = await serve(database)
    try:
        yield served
    finally:
        await served.client.close()


def created(uid: str = "po-1", timestamp: int = 1711900000, **data: Any) -> dict[str, Any]:
    return {
        "event_type": "pharmacy_order_created",
        "timestamp": timestamp,
        "payload_version": "1",
        "data": {"uid": uid, "status": "waiting for pharmacy", **data},
    }


async def test_a_signed_new_order_is_recorded_and_queued(receiver: Receiver) -> None:
    response = await receiver.rxscale(created())
    assert response.status == 200
    assert await response.json() == {"status": "enqueued"}
    async with receiver.database.engine.connect() as c:
        record = await orders.require_order(c, "po-1")
        [job] = await job_queries.list_jobs(c)
    assert record.state is OrderState.RECEIVED
    assert (job.kind, job.order_uid) == (JobKind.ACCEPT_ORDER, "po-1")
    assert receiver.wakeups == [1]


async def test_an_older_secret_still_verifies_during_rotation(receiver: Receiver) -> None:
    assert (await receiver.rxscale(created(), secret="whsec_old")).status == 200


async def test_a_repeated_delivery_is_acknowledged_once(receiver: Receiver) -> None:
    first = await receiver.rxscale(created())
    again = await receiver.rxscale(created())
    assert (first.status, again.status) == (200, 200)
    assert await again.json() == {"status": "duplicate"}
    assert await receiver.stored() == (1, 1, 1)


async def test_a_second_created_event_for_the_same_order_queues_nothing_new(
    receiver: Receiver,
) -> None:
    await receiver.rxscale(created(timestamp=1))
    response = await receiver.rxscale(created(timestamp=2))
    assert response.status == 200
    assert await receiver.stored() == (2, 1, 1)


@pytest.mark.parametrize("secret", [None, "whsec_stranger"])
async def test_wrong_or_missing_signature_is_401_and_stores_nothing(
    receiver: Receiver, secret: str | None
) -> None:
    response = await receiver.rxscale(created(), secret=secret)
    assert response.status == 401
    assert "error" in await response.json()
    assert await receiver.stored() == (0, 0, 0)


@pytest.mark.parametrize(
    "raw",
    [
        b"{this is not json",
        json.dumps({"event_type": "pharmacy_order_created", "timestamp": 1, "data": {}}).encode(),
        json.dumps({"event_type": "pharmacy_order_created", "data": {"uid": "po-1"}}).encode(),
        json.dumps([1, 2, 3]).encode(),
    ],
)
async def test_malformed_signed_bodies_are_400_and_store_nothing(
    receiver: Receiver, raw: bytes
) -> None:
    response = await receiver.rxscale(None, raw=raw)
    assert response.status == 400
    assert (await response.json())["error"]
    assert await receiver.stored() == (0, 0, 0)


async def test_an_oversized_body_is_413_and_stores_nothing(receiver: Receiver) -> None:
    huge = created(padding="x" * (LIMIT + 10))
    response = await receiver.rxscale(huge)
    assert response.status == 413
    assert await receiver.stored() == (0, 0, 0)


async def test_an_event_not_acted_on_is_recorded_and_acknowledged(receiver: Receiver) -> None:
    event = {**created(), "event_type": "pharmacy_sku_stock_updated"}
    response = await receiver.rxscale(event)
    assert response.status == 200
    assert await response.json() == {"status": "ignored"}
    assert await receiver.stored() == (1, 0, 0)


def shipment(request_id: str = "fill_request_1", status: str = "SHIPPED") -> dict[str, Any]:
    return {
        "request_id": request_id,
        "timestamp": 1590800222,
        "callback_type": "SHIPMENT",
        "status": "success",
        "details": {"status": status, "tracking_number": "9400", "carrier": "usps"},
    }


def basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"empower:{password}".encode()).decode()


@pytest.mark.parametrize("authorization", ["Bearer empower-key-1", basic("empower-key-1")])
async def test_an_authentic_empower_event_is_recorded_and_queued(
    receiver: Receiver, authorization: str
) -> None:
    response = await receiver.empower(shipment(), authorization=authorization)
    assert response.status == 200
    async with receiver.database.engine.connect() as c:
        [job] = await job_queries.list_jobs(c)
    assert job.kind is JobKind.EMPOWER_NEWS
    assert job.order_uid is None  # no order knows this request yet: the job will route it
    assert job.payload["tracking_number"] == "9400"


async def test_an_empower_event_for_a_known_order_is_bound_to_it(receiver: Receiver) -> None:
    from datetime import UTC, datetime

    from connector.domain.outcome import OrderUpdate, Outcome

    async with receiver.database.transaction() as c:
        await orders.create_order_if_absent(c, "po-7", datetime.now(UTC))
        await orders.apply_outcome(
            c,
            Outcome(order_uid="po-7", update=OrderUpdate(empower_request_id="fill_request_7")),
            datetime.now(UTC),
        )
    await receiver.empower(shipment("fill_request_7"))
    async with receiver.database.engine.connect() as c:
        [job] = await job_queries.list_jobs(c)
        history = await order_queries.order_history(c, "po-7")
    assert job.order_uid == "po-7"
    assert history[-1].kind == "empower_news"


@pytest.mark.parametrize(
    "authorization", [None, "Bearer nope", basic("nope"), "empower-key-1", "Basic ???"]
)
async def test_empower_without_the_key_is_401_and_stores_nothing(
    receiver: Receiver, authorization: str | None
) -> None:
    response = await receiver.empower(shipment(), authorization=authorization)
    assert response.status == 401
    assert await receiver.stored() == (0, 0, 0)


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b"nope",
        json.dumps({"callback_type": "SHIPMENT", "details": {"status": "SHIPPED"}}).encode(),
        json.dumps({"callback_type": "NOTIFY_RX", "details": {}}).encode(),
    ],
)
async def test_malformed_empower_events_are_400(receiver: Receiver, raw: bytes) -> None:
    assert (await receiver.empower(None, raw=raw)).status == 400
    assert await receiver.stored() == (0, 0, 0)


async def test_oversized_empower_event_is_413(receiver: Receiver) -> None:
    event = shipment()
    event["details"]["message"] = "y" * (LIMIT + 1)
    assert (await receiver.empower(event)).status == 413
    assert await receiver.stored() == (0, 0, 0)


async def test_unknown_callback_types_are_acknowledged_and_recorded(receiver: Receiver) -> None:
    response = await receiver.empower({"callback_type": "TRANSFER", "request_id": "r"})
    assert response.status == 200
    assert await response.json() == {"status": "ignored"}
    assert await receiver.stored() == (1, 0, 0)


async def test_identical_empower_bodies_are_one_delivery(receiver: Receiver) -> None:
    await receiver.empower(shipment())
    again = await receiver.empower(shipment())
    assert await again.json() == {"status": "duplicate"}
    assert await receiver.stored() == (1, 0, 1)


async def test_health_and_readiness(receiver: Receiver) -> None:
    assert (await receiver.client.get("/healthz")).status == 200
    ready = await receiver.client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["checks"] == {
        "shutdown": "ok",
        "database": "ok",
        "migrations": "ok",
    }
    receiver.state.draining = True
    draining = await receiver.client.get("/readyz")
    assert draining.status == 503
    assert (await draining.json())["checks"]["shutdown"] == "draining"


async def test_readiness_fails_when_migrations_are_behind(receiver: Receiver) -> None:
    receiver.state.schema_heads = {"a-newer-revision"}
    response = await receiver.client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["checks"]["migrations"] == "behind"


async def test_an_unreachable_database_is_503_never_500() -> None:
    # Nothing listens on port 1: asyncpg's refusal arrives raw, not wrapped by SQLAlchemy.
    database = Database("postgresql://connector:secret@127.0.0.1:1/connector")
    client = (await serve(database)).client
    try:
        body = json.dumps(created()).encode()
        signature = hmac.new(b"whsec_current", body, hashlib.sha256).hexdigest()
        response = await client.post(
            "/webhooks/rxscale",
            data=body,
            headers={"X-Webhook-Signature": signature, "Content-Type": "application/json"},
        )
        assert response.status == 503
        empower = await client.post(
            "/webhooks/empower", json=shipment(), headers={"Authorization": "Bearer empower-key-1"}
        )
        assert empower.status == 503
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["checks"]["database"].startswith("unreachable")
    finally:
        await client.close()
        await database.close()
