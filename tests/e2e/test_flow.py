"""Orders through the sandbox partners and a real daemon, over loopback HTTP."""

from __future__ import annotations

from collections import Counter

from connector.devstack import wait_until
from connector.domain.jobs import JobKind, JobSpec, JobState
from connector.domain.lifecycle import OrderState
from connector.sandbox.empower_records import FulfilmentScript
from connector.sandbox.faults import FaultRule
from connector.sandbox.fixtures import CATALOGUE
from connector.store import job_queries, jobs, order_queries
from tests.e2e.conftest import MakeStack

DONE = {OrderState.DELIVERED}
SEMA, TIRZ, NAD, _ = CATALOGUE


async def test_orders_flow_from_webhook_to_completion_with_tracking(make_stack: MakeStack) -> None:
    stack = await make_stack()
    uids = stack.push_orders(3)
    records = await stack.wait_for_states(uids, DONE)
    assert {r.state for r in records.values()} == {OrderState.DELIVERED}
    for uid, record in records.items():
        at_rxscale = stack.sandbox.rxscale.orders[uid]
        [at_empower] = stack.sandbox.empower.orders_for(uid)
        assert [h["status"] for h in at_rxscale.history] == [
            "waiting for pharmacy",
            "pending review",
            "in-progress",
            "completed",
        ]
        assert record.empower_order_id == at_empower.order_id
        assert record.empower_request_id == at_empower.request_id
        assert record.tracking is not None
        assert at_rxscale.completion == {
            "tracking_number": record.tracking.tracking_number,
            "tracking_url": record.tracking.tracking_url,
            "carrier": "usps",
        }
        assert len(record.empower_prescription_tokens) == len(at_empower.prescription_tokens)
        async with stack.daemon.database.engine.connect() as c:
            history = await order_queries.order_history(c, uid)
        moves = [h.kind for h in history if h.to_state is not None]
        assert moves == ["received", "accept", "place", "start", "complete", "deliver"]


async def test_duplicate_deliveries_are_harmless(make_stack: MakeStack) -> None:
    stack = await make_stack()
    stack.sandbox.rxscale.sender.duplicate = True
    stack.sandbox.empower.sender.duplicate = True
    uids = stack.push_orders(2)
    await stack.wait_for_states(uids, DONE)
    for uid in uids:
        assert len(stack.sandbox.empower.orders_for(uid)) == 1
        assert stack.sandbox.rxscale.count_requests("PATCH", f"{uid}/complete_order") == 1
    async with stack.daemon.database.engine.connect() as c:
        kinds = Counter(j.kind for j in await job_queries.list_jobs(c))
    assert kinds[JobKind.ACCEPT_ORDER] == 2
    assert kinds[JobKind.PLACE_ORDER] == 2
    assert stack.sandbox.rxscale.sender.delivered() >= 4  # every copy was acknowledged


async def test_empower_503_then_success_places_exactly_one_order(make_stack: MakeStack) -> None:
    stack = await make_stack()
    stack.sandbox.empower.faults.add(FaultRule(method="POST", path="/v1/orders", status=503))
    [uid] = stack.push_orders(1)
    records = await stack.wait_for_states([uid], DONE)
    assert records[uid].state is OrderState.DELIVERED
    assert len(stack.sandbox.empower.orders_for(uid)) == 1
    assert stack.sandbox.empower.requests.count("POST", "/v1/orders", status=503) == 1
    assert stack.sandbox.empower.requests.count("POST", "/v1/orders", status=201) == 1


async def test_an_order_created_before_a_lost_answer_is_found_not_doubled(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack()
    stack.sandbox.empower.faults.add(
        FaultRule(method="POST", path="/v1/orders", status=503, after_commit=True)
    )
    [uid] = stack.push_orders(1)
    records = await stack.wait_for_states([uid], DONE)
    assert records[uid].state is OrderState.DELIVERED
    [placed] = stack.sandbox.empower.orders_for(uid)
    assert records[uid].empower_order_id == placed.order_id
    async with stack.daemon.database.engine.connect() as c:
        kinds = [h.kind for h in await order_queries.order_history(c, uid)]
    assert "empower_order_adopted" in kinds


async def test_empower_422_puts_the_order_on_hold_with_the_reason(make_stack: MakeStack) -> None:
    stack = await make_stack()
    [uid] = stack.push_orders(
        1,
        items=[
            {
                "uid": "oi-discontinued",
                "amount": 1,
                "sku": {"uid": "sku-old", "display_name": "Old compound"},
                "pharmacy_sku": {"uid": "psku-old", "external_id": "EMP-DISCONTINUED"},
            }
        ],
    )
    records = await stack.wait_for_states([uid], {OrderState.ON_HOLD})
    assert records[uid].state is OrderState.ON_HOLD
    at_rxscale = stack.sandbox.rxscale.orders[uid]
    assert at_rxscale.status == "on-hold"
    comment = at_rxscale.history[-1]["comment"]
    assert "unknown product_id EMP-DISCONTINUED" in comment
    assert "Empower request_id req_" in comment
    assert records[uid].hold_reason == comment
    assert stack.sandbox.empower.orders_for(uid) == []
    assert stack.sandbox.empower.create_attempts.get("/v1/prescriptions") == 1  # not retried
    async with stack.daemon.database.engine.connect() as c:
        [place] = await job_queries.list_jobs(c, order_uid=uid, states=[JobState.FAILED])
    assert place.kind is JobKind.PLACE_ORDER
    assert "422" in (place.last_error or "")


async def test_an_unmappable_item_is_held_without_calling_empower(make_stack: MakeStack) -> None:
    stack = await make_stack()
    [uid] = stack.push_orders(
        1,
        items=[
            {
                "uid": "oi-1",
                "amount": 1,
                "sku": {"uid": "sku-unmapped", "display_name": "Rare cream", "pzn": "0042"},
                "pharmacy_sku": None,
            }
        ],
    )
    records = await stack.wait_for_states([uid], {OrderState.ON_HOLD})
    assert records[uid].state is OrderState.ON_HOLD
    comment = stack.sandbox.rxscale.orders[uid].history[-1]["comment"]
    assert "sku-unmapped" in comment
    assert "PZN 0042" in comment
    assert stack.sandbox.empower.create_attempts == {}


async def test_an_incomplete_patient_is_held_and_partner_text_is_scrubbed(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack()
    [uid] = stack.push_orders(
        1,
        patient={
            "uid": "pat-x",
            "display_name": "Quentin Quarry",
            "email": "q@x.org",
            "date_of_birth": "1950-05-05",
        },
        without_address=True,
    )
    records = await stack.wait_for_states([uid], {OrderState.ON_HOLD})
    comment = stack.sandbox.rxscale.orders[uid].history[-1]["comment"]
    assert "incomplete patient record" in comment
    assert "Quentin" not in comment
    assert "Quarry" not in comment
    assert "Quentin" not in (records[uid].hold_reason or "")


async def test_an_asynchronous_rejection_by_empower_puts_the_order_on_hold(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack(
        fulfilment=FulfilmentScript(reject_products=frozenset({NAD.product_id}))
    )
    [uid] = stack.push_orders(1, products=[NAD])
    records = await stack.wait_for_states([uid], {OrderState.ON_HOLD})
    assert records[uid].state is OrderState.ON_HOLD
    comment = stack.sandbox.rxscale.orders[uid].history[-1]["comment"]
    # Empower's code is relayed; its free text (which may quote the patient) never is.
    assert "product out of stock" not in comment
    assert "code R3" in comment
    assert records[uid].empower_request_id in comment


async def test_an_order_cancelled_before_intake_is_never_placed(make_stack: MakeStack) -> None:
    stack = await make_stack()
    [uid] = stack.push_orders(1)
    stack.sandbox.rxscale.cancel_order(uid)
    records = await stack.wait_for_states([uid], {OrderState.CANCELLED})
    assert records[uid].state is OrderState.CANCELLED
    assert stack.sandbox.empower.create_attempts == {}


async def test_a_429_from_rxscale_is_waited_out(make_stack: MakeStack) -> None:
    stack = await make_stack()
    stack.sandbox.rxscale.faults.add(
        FaultRule(method="PATCH", path="*/status", status=429, retry_after=0.3, times=2)
    )
    [uid] = stack.push_orders(1)
    records = await stack.wait_for_states([uid], DONE)
    assert records[uid].state is OrderState.DELIVERED
    async with stack.daemon.database.engine.connect() as c:
        accept = [
            j
            for j in await job_queries.list_jobs(c, order_uid=uid)
            if j.kind is JobKind.ACCEPT_ORDER
        ]
    assert accept[0].attempts == 1  # waiting out a 429 spends no attempt


async def test_an_event_that_beats_its_placement_is_routed_once_known(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack(fulfilment=FulfilmentScript(enabled=False))
    [uid] = stack.push_orders(1)
    records = await stack.wait_for_states([uid], {OrderState.IN_PROGRESS})
    request_id = records[uid].empower_request_id
    assert request_id is not None
    [placed] = stack.sandbox.empower.orders_for(uid)  # Empower's API shows the shipment
    placed.shipments.append({"status": "SHIPPED", "carrier": "usps", "tracking_number": "9400999"})
    payload = {
        "type": "shipment",
        "request_id": request_id,
        "status": "SHIPPED",
        "tracking_number": "9400999",
        "carrier": "usps",
        "tracking_url": None,
    }
    async with stack.daemon.database.transaction() as c:  # as if it came before the mapping
        await jobs.enqueue(
            c, [JobSpec(JobKind.EMPOWER_NEWS, None, payload=payload)], stack.daemon.clock.now()
        )
    stack.daemon.signal.notify()
    records = await stack.wait_for_states([uid], {OrderState.COMPLETED})
    tracking = records[uid].tracking
    assert tracking is not None
    assert tracking.tracking_number == "9400999"


async def test_work_that_cannot_succeed_ends_dead_and_visible(make_stack: MakeStack) -> None:
    stack = await make_stack(worker={"retry_for_seconds": 0.5})
    payload = {"type": "shipment", "request_id": "fill_request_unknown", "status": "SHIPPED"}
    async with stack.daemon.database.transaction() as c:
        [job_id] = await jobs.enqueue(
            c, [JobSpec(JobKind.EMPOWER_NEWS, None, payload=payload)], stack.daemon.clock.now()
        )
    stack.daemon.signal.notify()

    async def dead() -> bool:
        async with stack.daemon.database.engine.connect() as c:
            job = await job_queries.get_job(c, job_id)
        return job is not None and job.state is JobState.DEAD

    assert await wait_until(dead, within=15)
    async with stack.daemon.database.engine.connect() as c:
        job = await job_queries.get_job(c, job_id)
    assert job is not None
    assert job.attempts >= 2
    assert "fill_request_unknown" in (job.last_error or "")
    assert "still failing after" in (job.last_error or "")
