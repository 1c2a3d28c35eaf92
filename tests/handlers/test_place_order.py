"""place_order (connector.work.placement): patient, prescriptions and order at Empower,
never twice."""

from __future__ import annotations

import dataclasses

import pytest

from connector.domain.errors import Partner, PermanentError
from connector.domain.jobs import JobKind
from connector.domain.lifecycle import OrderState
from connector.domain.outcome import NOTHING
from connector.work.accept import AcceptOrder
from connector.work.handoff import FetchedOrders
from connector.work.placement import PlaceOrder
from tests.handlers.conftest import Bench

PLACE = JobKind.PLACE_ORDER
UNMAPPED_ITEM = {
    "uid": "oi-new",
    "amount": 1,
    "sku": {"uid": "sku-new", "display_name": "New compound", "pzn": "0777"},
    "pharmacy_sku": None,
}


async def test_an_accepted_order_is_placed_once_with_idempotency_keys(bench: Bench) -> None:
    record = await bench.order(OrderState.ACCEPTED)
    uid = record.rxscale_uid
    outcome = await PlaceOrder(bench.deps).run(bench.job(PLACE, uid))
    [placed] = bench.empower.orders_for(uid)
    assert [t.after for t in outcome.transitions] == [OrderState.PLACED]
    assert outcome.update is not None
    assert outcome.update.empower_order_id == placed.order_id
    assert outcome.update.empower_request_id == placed.request_id
    assert [s.kind for s in outcome.follow_ups] == [JobKind.MARK_IN_PROGRESS]
    assert set(bench.empower.idempotency) >= {f"rxscale-{uid}-patient", f"rxscale-{uid}-order"}
    await bench.commit(outcome)
    assert (await bench.record(uid)).empower_order_id == placed.order_id


async def test_the_order_accepting_fetched_is_placed_without_fetching_it_again(
    bench: Bench,
) -> None:
    record = await bench.order(OrderState.RECEIVED)
    uid = record.rxscale_uid
    await bench.commit(await AcceptOrder(bench.deps).run(bench.job(JobKind.ACCEPT_ORDER, uid)))
    outcome = await PlaceOrder(bench.deps).run(bench.job(PLACE, uid))
    assert [t.after for t in outcome.transitions] == [OrderState.PLACED]
    assert bench.rxscale_calls("GET", f"/pharmacy_orders/{uid}") == 1
    assert len(bench.deps.fetched) == 0  # handed over once, then gone from memory


async def test_a_hand_over_that_is_too_old_is_fetched_again(bench: Bench) -> None:
    deps = dataclasses.replace(bench.deps, fetched=FetchedOrders(fresh_for_seconds=0.0))
    record = await bench.order(OrderState.RECEIVED)
    uid = record.rxscale_uid
    await bench.commit(await AcceptOrder(deps).run(bench.job(JobKind.ACCEPT_ORDER, uid)))
    bench.rxscale.orders[uid].set_status("cancelled")  # while placement waited
    outcome = await PlaceOrder(deps).run(bench.job(PLACE, uid))
    assert [t.after for t in outcome.transitions] == [OrderState.CANCELLED]
    assert bench.rxscale_calls("GET", f"/pharmacy_orders/{uid}") == 2
    assert bench.empower.orders == {}


async def test_an_order_that_moved_on_is_skipped(bench: Bench) -> None:
    record = await bench.order(OrderState.RECEIVED)
    assert await PlaceOrder(bench.deps).run(bench.job(PLACE, record.rxscale_uid)) == NOTHING
    assert bench.empower_calls("POST", "/v1/") == 0


async def test_an_order_cancelled_at_rxscale_is_not_placed(bench: Bench) -> None:
    record = await bench.order(OrderState.ACCEPTED, rxscale_status="cancelled")
    outcome = await PlaceOrder(bench.deps).run(bench.job(PLACE, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.CANCELLED]
    assert bench.empower.orders == {}


async def test_an_unmappable_order_is_rejected_naming_the_missing_product(bench: Bench) -> None:
    record = await bench.order(OrderState.ACCEPTED, items=[UNMAPPED_ITEM])
    outcome = await PlaceOrder(bench.deps).run(bench.job(PLACE, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.REJECTED]
    assert outcome.update is not None
    assert "sku-new" in (outcome.update.hold_reason or "")
    assert [s.kind for s in outcome.follow_ups] == [JobKind.HOLD_ORDER]
    assert bench.empower_calls("POST", "/v1/") == 0


async def test_an_order_already_at_empower_is_adopted_not_placed_again(bench: Bench) -> None:
    record = await bench.order(OrderState.ACCEPTED)
    existing = bench.place_at_empower(record.rxscale_uid)
    outcome = await PlaceOrder(bench.deps).run(bench.job(PLACE, record.rxscale_uid))
    assert outcome.update is not None
    assert outcome.update.empower_order_id == existing.order_id
    assert [h.kind for h in outcome.history] == ["empower_order_adopted"]
    assert bench.empower_calls("POST", "/v1/") == 0


async def test_a_409_on_create_after_it_took_effect_finds_the_order(bench: Bench) -> None:
    record = await bench.order(OrderState.ACCEPTED)
    bench.fault("empower", method="POST", path="/v1/orders", status=409, after_commit=True)
    outcome = await PlaceOrder(bench.deps).run(bench.job(PLACE, record.rxscale_uid))
    [placed] = bench.empower.orders_for(record.rxscale_uid)
    assert outcome.update is not None
    assert outcome.update.empower_order_id == placed.order_id


async def test_an_empower_4xx_is_permanent_scrubbed_and_puts_the_order_on_hold(
    bench: Bench,
) -> None:
    patient = {
        "uid": "pat-canary",
        "display_name": "Quirinus Zwetschke",
        "email": "qz@example.org",
        "date_of_birth": "1970-01-01",
    }
    # Empower refuses a patient without an address, and names the patient in its message.
    record = await bench.order(OrderState.ACCEPTED, patient=patient, without_address=True)
    job = bench.job(PLACE, record.rxscale_uid)
    handler = PlaceOrder(bench.deps)
    with pytest.raises(PermanentError) as caught:
        await handler.run(job)
    error = caught.value
    assert error.status == 422
    assert "Quirinus" not in error.message
    assert "Zwetschke" not in error.message
    assert "[redacted]" in error.message
    outcome = await handler.on_permanent_failure(job, error)
    assert [t.after for t in outcome.transitions] == [OrderState.REJECTED]
    assert outcome.update is not None
    assert f"request_id {error.request_id}" in (outcome.update.hold_reason or "")


async def test_a_refusal_by_rxscale_puts_nothing_on_hold(bench: Bench) -> None:
    record = await bench.order(OrderState.ACCEPTED)
    job = bench.job(PLACE, record.rxscale_uid)
    refusal = PermanentError(Partner.RXSCALE, "get_order", "Resource not found", status=404)
    assert await PlaceOrder(bench.deps).on_permanent_failure(job, refusal) == NOTHING


async def test_a_rejected_empower_order_is_never_adopted(bench: Bench) -> None:
    record = await bench.order(OrderState.ACCEPTED)
    bench.place_at_empower(record.rxscale_uid, status="REJECTED")
    handler, job = PlaceOrder(bench.deps), bench.job(PLACE, record.rxscale_uid)
    # Empower refuses a second order under the same external id; the order goes on hold.
    with pytest.raises(PermanentError) as caught:
        await handler.run(job)
    assert caught.value.status == 409
    outcome = await handler.on_permanent_failure(job, caught.value)
    assert [t.after for t in outcome.transitions] == [OrderState.REJECTED]


async def test_a_rerun_places_a_new_order_under_the_next_generation(bench: Bench) -> None:
    record = await bench.order(OrderState.ON_HOLD)
    uid = record.rxscale_uid
    rejected = bench.place_at_empower(uid, status="REJECTED")
    rerun = await bench.rerun(uid)
    assert rerun.placement_generation == 1
    outcome = await PlaceOrder(bench.deps).run(bench.job(PLACE, uid))
    [placed] = bench.empower.orders_for(f"{uid}-g1")
    assert outcome.update is not None
    assert outcome.update.empower_order_id == placed.order_id != rejected.order_id
    assert bench.empower.orders[rejected.order_id].status == "REJECTED"
    assert f"rxscale-{uid}-g1-order" in bench.empower.idempotency


async def test_a_cancelled_order_that_was_placed_after_all_is_cancelled_there(
    bench: Bench,
) -> None:
    """RxScale cancelled the order while a placement's answer was lost: the order exists
    at Empower, so it is adopted and its cancellation queued, not forgotten."""
    record = await bench.order(OrderState.ACCEPTED, rxscale_status="cancelled")
    placed = bench.place_at_empower(record.rxscale_uid)
    outcome = await PlaceOrder(bench.deps).run(bench.job(PLACE, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.PLACED]
    assert outcome.update is not None
    assert outcome.update.empower_order_id == placed.order_id
    assert [s.kind for s in outcome.follow_ups] == [JobKind.CANCEL_ORDER]
