"""The partner clients against the sandbox partners over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from connector.domain.empower import Prescriber, Tracking
from connector.domain.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from connector.domain.lifecycle import RxScaleStatus
from connector.domain.mapping import IdempotencyKeys, MappingPolicy, PlacementPlan, map_order
from connector.empower.client import EmpowerClient
from connector.rxscale.client import RxScaleClient
from connector.sandbox.faults import FaultRule
from connector.sandbox.runner import RunningSandbox, start_sandbox


@pytest.fixture
async def rxscale(sandbox: RunningSandbox) -> AsyncIterator[RxScaleClient]:
    client = RxScaleClient(sandbox.rxscale_url, sandbox.rxscale.api_key, timeout_seconds=2)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def empower(sandbox: RunningSandbox) -> AsyncIterator[EmpowerClient]:
    client = EmpowerClient(sandbox.empower_url, sandbox.empower.api_key, timeout_seconds=2)
    try:
        yield client
    finally:
        await client.close()


async def test_order_round_trip_and_status_rules(
    sandbox: RunningSandbox, rxscale: RxScaleClient
) -> None:
    uid = sandbox.rxscale.add_order()
    order = await rxscale.get_order(uid)
    assert order.uid == uid
    assert order.items
    assert order.patient is not None
    await rxscale.set_status(uid, RxScaleStatus.PENDING_REVIEW)
    await rxscale.set_status(uid, RxScaleStatus.PENDING_REVIEW)  # same status: a no-op
    with pytest.raises(ConflictError):
        await rxscale.complete_order(uid, Tracking("1"))  # not in progress yet
    await rxscale.set_status(uid, RxScaleStatus.IN_PROGRESS)
    await rxscale.complete_order(uid, Tracking("9400", "usps", "https://t"))
    assert sandbox.rxscale.orders[uid].status == "completed"
    assert sandbox.rxscale.orders[uid].completion == {
        "tracking_number": "9400",
        "tracking_url": "https://t",
        "carrier": "usps",
    }


async def test_on_hold_needs_a_comment_before_anything_is_sent(
    sandbox: RunningSandbox, rxscale: RxScaleClient
) -> None:
    uid = sandbox.rxscale.add_order()
    with pytest.raises(ValueError, match="comment"):
        await rxscale.set_status(uid, RxScaleStatus.ON_HOLD, "  ")
    assert sandbox.rxscale.count_requests("PATCH", uid) == 0


async def test_rxscale_failures_become_our_error_types(
    sandbox: RunningSandbox, rxscale: RxScaleClient
) -> None:
    with pytest.raises(NotFoundError):
        await rxscale.get_order("po-does-not-exist")
    sandbox.rxscale.faults.add(FaultRule(path="*/health/", status=429, retry_after=7))
    with pytest.raises(RateLimitedError) as limited:
        await rxscale.health()
    assert limited.value.retry_after == 7.0
    sandbox.rxscale.faults.add(FaultRule(path="*/health/", status=503))
    with pytest.raises(TransientError):
        await rxscale.health()
    sandbox.rxscale.faults.add(FaultRule(path="*/health/", hang=True))
    with pytest.raises(TransientError, match="timed out"):
        await rxscale.health()
    await rxscale.health()  # faults were one-shot


async def test_a_wrong_rxscale_key_is_an_auth_error(sandbox: RunningSandbox) -> None:
    client = RxScaleClient(sandbox.rxscale_url, "wrong-key")
    try:
        with pytest.raises(AuthError, match="API key"):
            await client.health()
    finally:
        await client.close()


async def test_the_sandbox_enforces_rxscale_rate_limit() -> None:
    from connector.sandbox.ratelimit import SlidingWindowLimit
    from connector.sandbox.rxscale_server import RxScaleSandbox

    running = await start_sandbox(RxScaleSandbox(rate_limit=SlidingWindowLimit(per_second=3)))
    client = RxScaleClient(running.rxscale_url, running.rxscale.api_key)
    try:
        for _ in range(3):
            await client.health()
        with pytest.raises(RateLimitedError):
            await client.health()
    finally:
        await client.close()
        await running.close()


async def test_webhook_subscriptions(rxscale: RxScaleClient) -> None:
    created = await rxscale.create_webhook(
        "https://pharmacy.example/hook", "pharmacy_order_created"
    )
    assert created.signing_secret
    assert created.signing_secret.startswith("whsec_")
    listed = await rxscale.list_webhooks()
    assert [(s.uid, s.signing_secret) for s in listed] == [(created.uid, None)]
    await rxscale.delete_webhook(created.uid)
    assert await rxscale.list_webhooks() == []


async def plan_for(
    sandbox: RunningSandbox, rxscale: RxScaleClient, **overrides: Any
) -> tuple[str, PlacementPlan]:
    uid = sandbox.rxscale.add_order(**overrides)
    plan = map_order(await rxscale.get_order(uid), MappingPolicy())
    assert isinstance(plan, PlacementPlan)
    return uid, plan


async def test_placing_an_order_at_empower(
    sandbox: RunningSandbox, rxscale: RxScaleClient, empower: EmpowerClient
) -> None:
    uid, plan = await plan_for(sandbox, rxscale)
    keys = IdempotencyKeys(uid)
    patient = await empower.create_patient(plan.patient, keys.patient())
    tokens = tuple(
        [
            await empower.create_prescription(p, patient, keys.prescription(p.item_uid))
            for p in plan.prescriptions
        ]
    )
    placed = await empower.create_order(plan.order_request(uid, patient, tokens), keys.order())
    assert placed.request_id.startswith("fill_request_")
    [found] = await empower.find_orders(uid)
    assert found.order_id == placed.order_id
    assert await empower.find_orders("po-never-placed") == []
    assert (await empower.get_order(placed.order_id)).external_order_id == uid


async def test_the_same_idempotency_key_returns_the_first_result(
    sandbox: RunningSandbox, rxscale: RxScaleClient, empower: EmpowerClient
) -> None:
    uid, plan = await plan_for(sandbox, rxscale)
    keys = IdempotencyKeys(uid)
    patient = await empower.create_patient(plan.patient, keys.patient())
    [prescription] = plan.prescriptions[:1]
    token = await empower.create_prescription(
        prescription, patient, keys.prescription(prescription.item_uid)
    )
    request = plan.order_request(uid, patient, (token,))
    sandbox.empower.faults.add(
        FaultRule(method="POST", path="/v1/orders", status=503, after_commit=True)
    )
    with pytest.raises(TransientError):
        await empower.create_order(request, keys.order())
    placed = await empower.create_order(request, keys.order())
    assert len(sandbox.empower.orders_for(uid)) == 1
    assert placed.order_id == sandbox.empower.orders_for(uid)[0].order_id
    with pytest.raises(ConflictError):
        await empower.create_order(request, "a-fresh-key")  # external_order_id is taken


async def test_empower_refusals_carry_the_message_and_request_id(
    sandbox: RunningSandbox, rxscale: RxScaleClient, empower: EmpowerClient
) -> None:
    _uid, plan = await plan_for(sandbox, rxscale)
    patient = await empower.create_patient(plan.patient, "k1")
    wrong = replace(plan.prescriptions[0], prescriber=Prescriber("Dr. X", npi="1234567890"))
    with pytest.raises(PermanentError) as refused:
        await empower.create_prescription(wrong, patient, "k2")
    assert refused.value.status == 422
    assert "invalid NPI" in refused.value.message
    assert refused.value.request_id
    assert refused.value.request_id.startswith("req_")


async def test_empower_key_and_transient_failures(
    sandbox: RunningSandbox, empower: EmpowerClient
) -> None:
    wrong = EmpowerClient(sandbox.empower_url, "nope")
    try:
        with pytest.raises(AuthError):
            await wrong.list_products()
    finally:
        await wrong.close()
    sandbox.empower.faults.add(FaultRule(path="/v1/products", status=429, retry_after=2))
    with pytest.raises(RateLimitedError) as limited:
        await empower.list_products()
    assert limited.value.retry_after == 2.0
    sandbox.empower.faults.add(FaultRule(path="/v1/products", status=502))
    with pytest.raises(TransientError):
        await empower.list_products()
    assert [p.product_id for p in await empower.list_products()][:1] == ["EMP-SEMA-025"]


async def test_a_lookup_that_finds_nothing_is_not_an_error(
    sandbox: RunningSandbox, empower: EmpowerClient
) -> None:
    # Empower's error table says 404 means "does not exist": for a lookup, that is no order.
    sandbox.empower.faults.add(FaultRule(method="GET", path="/v1/orders", status=404))
    assert await empower.find_orders("po-never-placed") == []
