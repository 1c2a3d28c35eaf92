"""Every path of an order's life, through the sandbox partners and a real daemon."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from connector.devstack import LocalStack, StackOptions, wait_until
from connector.domain.jobs import JobKind, JobState
from connector.domain.lifecycle import OrderState
from connector.sandbox.empower_records import FulfilmentScript
from connector.sandbox.faults import FaultRule
from connector.sandbox.fixtures import CATALOGUE
from connector.sandbox.ratelimit import SlidingWindowLimit
from connector.settings import MappingSettings
from connector.store import job_queries, order_queries
from tests.e2e.conftest import MakeStack
from tests.e2e.processes import base_env, run_connector

SEMA, TIRZ, NAD, TEST = CATALOGUE
UNMAPPED_ITEM = {
    "uid": "oi-new",
    "amount": 1,
    "sku": {"uid": "sku-new", "display_name": "New compound", "pzn": "0777"},
    "pharmacy_sku": None,
}


async def history(stack: LocalStack, uid: str) -> list[str]:
    async with stack.daemon.database.engine.connect() as c:
        return [h.kind for h in await order_queries.order_history(c, uid)]


def rxscale_statuses(stack: LocalStack, uid: str) -> list[str]:
    return [h["status"] for h in stack.sandbox.rxscale.orders[uid].history]


async def connector_command(stack: LocalStack, *args: str) -> tuple[int, str, str]:
    """Run `connector …` as an operator would, against the stack's database."""
    return await run_connector(
        *args, env=base_env(CONNECTOR_DATABASE_URL=stack.settings.database_url)
    )


async def wait_for_history(stack: LocalStack, uid: str, kind: str) -> bool:
    async def seen() -> bool:
        return kind in await history(stack, uid)

    return await wait_until(seen, within=15)


# --- rejections and re-runs ----------------------------------------------------------------


async def test_an_operator_reruns_an_order_after_fixing_the_product_map(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack()
    [uid] = stack.push_orders(1, items=[UNMAPPED_ITEM])
    await stack.wait_for_states([uid], {OrderState.ON_HOLD})
    assert "sku-new" in (stack.sandbox.rxscale.orders[uid].history[-1]["comment"] or "")

    fixed = stack.settings.model_copy(
        update={"mapping": MappingSettings(products={"sku-new": SEMA.product_id})}
    )
    await stack.restart_daemon(fixed)
    code, out, err = await connector_command(stack, "orders", "retry", uid)
    assert code == 0, err
    assert "placement generation 1" in out

    records = await stack.wait_for_states([uid], {OrderState.DELIVERED})
    assert records[uid].placement_generation == 1
    assert records[uid].hold_reason is None
    assert rxscale_statuses(stack, uid)[-4:] == [
        "on-hold",
        "pending review",
        "in-progress",
        "completed",
    ]
    [placed] = stack.sandbox.empower.orders_for(f"{uid}-g1")  # the generation reaches Empower
    products = {
        stack.sandbox.empower.prescriptions[t]["medication"]["product_id"]
        for t in placed.prescription_tokens
    }
    assert products == {SEMA.product_id}
    assert "retry" in await history(stack, uid)


async def test_only_an_order_on_hold_can_be_rerun(make_stack: MakeStack) -> None:
    stack = await make_stack()
    [uid] = stack.push_orders(1)
    await stack.wait_for_states([uid], {OrderState.DELIVERED})
    code, _, err = await connector_command(stack, "orders", "retry", uid)
    assert code == 1
    assert "only an order on hold can be re-run" in err


async def test_a_required_npi_is_never_guessed(make_stack: MakeStack) -> None:
    stack = await make_stack(
        mapping={"require_npi": True, "prescribers": {"doc-1001": "1234567893"}}
    )
    [held] = stack.push_orders(1, doctor={"uid": "doc-9999", "display_name": "Dr. Unmapped"})
    [sent] = stack.push_orders(1, doctor={"uid": "doc-1001", "display_name": "Dr. Mira Sommer"})
    await stack.wait_for_states([held], {OrderState.ON_HOLD})
    await stack.wait_for_states([sent], {OrderState.DELIVERED})
    comment = stack.sandbox.rxscale.orders[held].history[-1]["comment"]
    assert "NPI for prescriber 'doc-9999'" in comment
    assert stack.sandbox.empower.orders_for(held) == []
    assert stack.sandbox.empower.requests.count("POST", "/v1/patients") == 1  # only `sent`
    [placed] = stack.sandbox.empower.orders_for(sent)
    npis = {
        stack.sandbox.empower.prescriptions[t]["prescriber"]["npi"]
        for t in placed.prescription_tokens
    }
    assert npis == {"1234567893"}


# --- cancellations -------------------------------------------------------------------------


async def placement_running(stack: LocalStack) -> bool:
    async with stack.daemon.database.engine.connect() as c:
        running = await job_queries.list_jobs(c, states=[JobState.RUNNING])
    return any(j.kind is JobKind.PLACE_ORDER for j in running)


async def order_mid_placement(stack: LocalStack) -> str:
    """A new order whose placement is mid-flight: Empower created it and holds the answer."""
    stack.sandbox.empower.faults.add(
        FaultRule(method="POST", path="/v1/orders", hold_response_seconds=1.0)
    )
    [uid] = stack.push_orders(1)

    async def created_at_empower() -> bool:
        return bool(stack.sandbox.empower.orders_for(uid))

    assert await wait_until(created_at_empower, within=10, interval=0.005)
    assert await placement_running(stack)
    return uid


async def test_a_cancellation_racing_the_placement_ends_cancelled_on_both_sides(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack(fulfilment=FulfilmentScript(enabled=False))
    uid = await order_mid_placement(stack)
    stack.sandbox.rxscale.cancel_order(uid)
    records = await stack.wait_for_states([uid], {OrderState.CANCELLED})
    assert records[uid].state is OrderState.CANCELLED
    [placed] = stack.sandbox.empower.orders_for(uid)
    assert placed.status == "CANCELLED"
    moves = [k for k in await history(stack, uid) if k in ("place", "cancel", "start")]
    assert moves == ["place", "cancel"]  # placed, then cancelled; never marked in progress
    assert "in-progress" not in rxscale_statuses(stack, uid)


async def test_a_cancellation_whose_webhook_was_lost_is_noticed_and_carried_out(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack(fulfilment=FulfilmentScript(enabled=False))
    for uid_, subscription in list(stack.sandbox.rxscale.subscriptions.items()):
        if subscription.notification_type == "pharmacy_order_updated":
            del stack.sandbox.rxscale.subscriptions[uid_]  # cancellations go unannounced
    uid = await order_mid_placement(stack)
    stack.sandbox.rxscale.cancel_order(uid)  # no webhook tells the connector
    records = await stack.wait_for_states([uid], {OrderState.CANCELLED})
    assert records[uid].state is OrderState.CANCELLED
    assert stack.sandbox.empower.orders_for(uid)[0].status == "CANCELLED"


async def test_a_placed_order_cancelled_at_rxscale_is_cancelled_at_empower(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack(fulfilment=FulfilmentScript(enabled=False))
    [uid] = stack.push_orders(1)
    await stack.wait_for_states([uid], {OrderState.IN_PROGRESS})
    stack.sandbox.rxscale.cancel_order(uid)
    records = await stack.wait_for_states([uid], {OrderState.CANCELLED})
    assert records[uid].empower_status == "CANCELLED"
    assert stack.sandbox.empower.orders_for(uid)[0].status == "CANCELLED"


async def test_a_cancellation_after_shipment_is_recorded_and_raised(make_stack: MakeStack) -> None:
    stack = await make_stack(
        fulfilment=FulfilmentScript(processing_after=0.05, ship_after=0.1, deliver_after=600)
    )
    target, stack.sandbox.empower.webhook = stack.sandbox.empower.webhook, None
    [uid] = stack.push_orders(1)  # the connector does not hear of the shipment yet
    await stack.wait_for_states([uid], {OrderState.IN_PROGRESS})

    async def shipped() -> bool:
        return any(o.status == "SHIPPED" for o in stack.sandbox.empower.orders_for(uid))

    assert await wait_until(shipped, within=10)
    with capture_logs() as logs:
        stack.sandbox.rxscale.cancel_order(uid)
        assert await wait_for_history(stack, uid, "cancellation_refused")
    assert any(e["event"] == "cancellation_refused" and e["log_level"] == "error" for e in logs)
    # At rest for a person, and its shipment news is still kept when it comes.
    records = await stack.wait_for_states([uid], {OrderState.CANCEL_REFUSED})
    assert records[uid].state is OrderState.CANCEL_REFUSED
    [placed] = stack.sandbox.empower.orders_for(uid)
    assert placed.status == "SHIPPED"
    stack.sandbox.empower.webhook = target
    stack.sandbox.empower.send_event(stack.sandbox.empower.shipment_event(placed, "SHIPPED"))
    assert await wait_for_history(stack, uid, "shipment_after_cancellation")
    assert (await stack.records([uid]))[uid].tracking is not None


# --- out of order and repeated news -----------------------------------------------------------


async def test_a_late_shipped_after_delivered_changes_nothing(make_stack: MakeStack) -> None:
    stack = await make_stack(fulfilment=FulfilmentScript(enabled=False))
    [uid] = stack.push_orders(1)
    await stack.wait_for_states([uid], {OrderState.IN_PROGRESS})
    [placed] = stack.sandbox.empower.orders_for(uid)
    shipped = stack.sandbox.empower.ship(placed)
    delivered = stack.sandbox.empower.deliver(placed)
    stack.sandbox.empower.send_event(delivered)  # the delivery news overtakes the shipment's
    await stack.wait_for_states([uid], {OrderState.DELIVERED})
    stack.sandbox.empower.send_event(shipped)
    assert await wait_for_history(stack, uid, "shipment_repeated")
    records = await stack.records([uid])
    assert records[uid].state is OrderState.DELIVERED
    assert stack.sandbox.rxscale.count_requests("PATCH", f"{uid}/complete_order") == 1


async def test_empower_putting_an_order_on_hold_is_recorded_and_raised(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack(fulfilment=FulfilmentScript(enabled=False))
    [uid] = stack.push_orders(1)
    await stack.wait_for_states([uid], {OrderState.IN_PROGRESS})
    [placed] = stack.sandbox.empower.orders_for(uid)
    with capture_logs() as logs:
        stack.sandbox.empower.send_event(stack.sandbox.empower.order_event(placed, "ON_HOLD"))

        async def recorded() -> bool:
            return (await stack.records([uid]))[uid].empower_status == "ON_HOLD"

        assert await wait_until(recorded, within=10)
    assert any(e["event"] == "empower_order_status" and e["log_level"] == "warning" for e in logs)
    assert (await stack.records([uid]))[uid].state is OrderState.IN_PROGRESS


async def test_an_order_cancelled_by_empower_goes_on_hold_at_rxscale(make_stack: MakeStack) -> None:
    stack = await make_stack(fulfilment=FulfilmentScript(enabled=False))
    [uid] = stack.push_orders(1)
    await stack.wait_for_states([uid], {OrderState.IN_PROGRESS})
    [placed] = stack.sandbox.empower.orders_for(uid)
    event = stack.sandbox.empower.order_event(placed, "CANCELLED")
    event["details"]["message"] = "prescription expired"
    stack.sandbox.empower.send_event(event)
    await stack.wait_for_states([uid], {OrderState.ON_HOLD})
    comment = stack.sandbox.rxscale.orders[uid].history[-1]["comment"]
    assert "cancelled by Empower" in comment
    assert "prescription expired" not in comment  # free text is never relayed
    assert placed.request_id in comment


async def test_a_prescription_notification_is_recorded_against_the_patient(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack(fulfilment=FulfilmentScript(enabled=False))
    [uid] = stack.push_orders(1)
    records = await stack.wait_for_states([uid], {OrderState.IN_PROGRESS})
    stack.sandbox.empower.send_event(
        {
            "timestamp": 1581019462,
            "callback_type": "NOTIFY_RX",
            "details": {
                "medication_name": "Semaglutide 2.5 mg/mL injection",
                "prescriber": "Dr. Jane Smith",
                "prescription_token": "rx_new_refill",
                "patient_token": records[uid].empower_patient_token,
            },
        }
    )
    assert await wait_for_history(stack, uid, "prescription_notified")


# --- completion point ------------------------------------------------------------------------


async def test_completing_on_delivery(make_stack: MakeStack) -> None:
    stack = await make_stack(complete_on="delivered")
    [uid] = stack.push_orders(1)
    records = await stack.wait_for_states([uid], {OrderState.DELIVERED})
    assert rxscale_statuses(stack, uid)[-3:] == ["in-progress", "ready_for_pickup", "completed"]
    moves = [k for k in await history(stack, uid) if k in ("start", "ship", "complete", "deliver")]
    assert moves == ["start", "ship", "complete", "deliver"]
    completion = stack.sandbox.rxscale.orders[uid].completion
    tracking = records[uid].tracking
    assert completion is not None
    assert tracking is not None
    assert completion["tracking_number"] == tracking.tracking_number


# --- reconciliation --------------------------------------------------------------------------


async def test_reconciliation_takes_in_an_order_whose_webhook_never_came(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack(reconcile={"interval_seconds": 1.0})
    stack.sandbox.rxscale.subscriptions.clear()  # RxScale's webhooks are lost from here on
    uid = stack.sandbox.rxscale.add_order()
    records = await stack.wait_for_states([uid], {OrderState.DELIVERED}, within=20)
    assert records[uid].state is OrderState.DELIVERED
    assert stack.sandbox.rxscale.sender.log == []  # really no webhook
    assert len(stack.sandbox.empower.orders_for(uid)) == 1


async def test_reconciliation_finds_a_shipment_whose_webhook_never_came(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack(reconcile={"interval_seconds": 1.0, "stale_after_seconds": 0.5})
    stack.sandbox.empower.webhook = None  # Empower's webhooks are lost
    [uid] = stack.push_orders(1)
    records = await stack.wait_for_states([uid], {OrderState.DELIVERED}, within=20)
    [placed] = stack.sandbox.empower.orders_for(uid)
    tracking = records[uid].tracking
    assert tracking is not None
    assert tracking.tracking_number == placed.shipments[-1]["tracking_number"]
    assert stack.sandbox.rxscale.orders[uid].status == "completed"
    assert stack.sandbox.empower.sender.log == []


# --- rate limit --------------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_backlog_drains_at_rxscales_rate_without_a_429(tmp_path: Path) -> None:
    limit = SlidingWindowLimit(per_second=10, per_minute=600)
    options = StackOptions(
        rate_limit=limit,
        fulfilment=FulfilmentScript(processing_after=0.05, ship_after=0.1, deliver_after=0.2),
    )
    options.worker = {**options.worker, "concurrency": 8}
    # It counts the order path's own requests. Reconciliation, due whenever the run
    # straddles a wall-clock period, may read an order that completed during its listing.
    options.reconcile = {"interval_seconds": 0}
    async with LocalStack(tmp_path, options) as stack:
        await asyncio.sleep(1.2)  # the stack's own set-up calls leave the window
        uids = stack.push_orders(100)
        records = await stack.wait_for_states(uids, {OrderState.DELIVERED}, within=150)
        assert {r.state for r in records.values()} == {OrderState.DELIVERED}
        assert limit.refused == 0
        assert stack.sandbox.rxscale.requests.count("GET", "", status=429) == 0
        assert stack.sandbox.rxscale.requests.count("PATCH", "", status=429) == 0
        # Before shipment: one GET (accepting hands it to placing) and two status changes.
        requests = stack.sandbox.rxscale.requests
        gets = Counter(requests.count("GET", f"/pharmacy_orders/{uid}") for uid in uids)
        patches = Counter(requests.count("PATCH", f"/pharmacy_orders/{uid}/status") for uid in uids)
        completions = requests.count("PATCH", "/complete_order")
        print(gets, patches, completions)
        assert gets == {1: len(uids)}
        assert patches == {2: len(uids)}
        assert completions == len(uids)


# --- stock ---------------------------------------------------------------------------------------


async def test_stock_is_copied_only_when_it_changed(make_stack: MakeStack) -> None:
    stack = await make_stack(stock={"sync_interval_seconds": 3600})
    stack.sandbox.rxscale.announce_own_stock_changes = True  # our updates echo back as webhooks
    skus = stack.sandbox.rxscale.skus

    async def synced() -> bool:
        return all(skus[p.pharmacy_sku_uid]["stock"] == 250 for p in CATALOGUE)

    assert await wait_until(synced, within=10)  # the first sync runs at start-up
    assert sorted(uid for uid, _ in stack.sandbox.rxscale.stock_updates) == sorted(skus)
    await asyncio.sleep(1.0)  # the echoes were re-checked and changed nothing
    assert len(stack.sandbox.rxscale.stock_updates) == len(CATALOGUE)

    stack.sandbox.empower.availability[NAD.product_id] = (False, 30)
    stack.sandbox.rxscale.set_sku_stock(TIRZ.pharmacy_sku_uid, 3)  # changed in the portal

    async def corrected() -> bool:
        return bool(skus[TIRZ.pharmacy_sku_uid]["stock"] == 250)

    assert await wait_until(corrected, within=10)  # the webhook re-checked that one SKU
    await asyncio.sleep(0.5)
    assert skus[NAD.pharmacy_sku_uid]["stock"] == 250  # not re-checked: waits for its turn
    assert stack.sandbox.rxscale.stock_updates[-1] == (TIRZ.pharmacy_sku_uid, 250)


async def test_news_for_an_order_never_placed_ends_unmatched_not_dead(
    make_stack: MakeStack,
) -> None:
    """Empower's webhook URL is per account: news about orders placed elsewhere arrives."""
    stack = await make_stack(worker={"unmatched_after_seconds": 0.5})
    event = {
        "request_id": "fill_request_placed_elsewhere",
        "timestamp": 1764500000,
        "callback_type": "SHIPMENT",
        "status": "success",
        "details": {"status": "SHIPPED", "tracking_number": "9400111", "carrier": "usps"},
    }
    stack.sandbox.empower.send_event(event)

    async def unmatched() -> list[dict[str, str]]:
        code, out, err = await connector_command(stack, "unmatched", "--json")
        assert code == 0, err
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    async def listed() -> bool:
        return bool(await unmatched())

    assert await wait_until(listed, within=20, interval=0.5)
    [found] = await unmatched()
    assert (found["request_id"], found["kind"]) == ("fill_request_placed_elsewhere", "shipment")
    async with stack.daemon.database.engine.connect() as c:
        stuck = await job_queries.list_jobs(c, states=[JobState.DEAD, JobState.FAILED])
    assert stuck == []
