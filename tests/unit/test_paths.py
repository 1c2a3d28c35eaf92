"""Pure decisions for the less happy paths: completion point, Empower's order statuses,
re-runs, stock, and the limits the client keeps."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from connector.domain.empower import EmpowerOrder, Shipment, Tracking
from connector.domain.intake import MarkPendingReview, NotOurs, plan_intake
from connector.domain.jobs import JobKind
from connector.domain.lifecycle import OrderState
from connector.domain.news import (
    CompleteOrder,
    CompletionPoint,
    MarkReadyForPickup,
    NoteOnly,
    OrderNews,
    RecordStatus,
    RejectOrder,
    ShipmentNews,
    news_from_empower_order,
    plan_order_news,
    plan_shipment,
)
from connector.domain.npi import is_valid_npi
from connector.domain.stock import PharmacySku, ProductAvailability, StockChange, plan_stock_changes
from connector.partner.ratelimit import Rate, RateLimiter
from connector.pipeline.scheduler import Periodic, Scheduler
from connector.pipeline.worker import JobSignal

TRACKING = Tracking("9400", "usps", None)
DELIVERED = CompletionPoint.DELIVERED


def shipment(status: str, tracking: Tracking | None = TRACKING) -> ShipmentNews:
    return ShipmentNews("fill_request_1", status, tracking)


def test_completing_on_delivery_marks_ready_for_pickup_first() -> None:
    assert plan_shipment(OrderState.IN_PROGRESS, shipment("SHIPPED"), DELIVERED) == (
        MarkReadyForPickup(TRACKING)
    )
    assert plan_shipment(OrderState.READY_FOR_PICKUP, shipment("IN_TRANSIT"), DELIVERED) == (
        NoteOnly("shipment_repeated")
    )


def test_delivery_completes_with_the_tracking_already_known() -> None:
    plan = plan_shipment(
        OrderState.READY_FOR_PICKUP, shipment("DELIVERED", None), DELIVERED, TRACKING
    )
    assert plan == CompleteOrder(TRACKING, then_deliver=True)


def test_a_delivery_without_any_tracking_is_for_a_person() -> None:
    assert plan_shipment(OrderState.IN_PROGRESS, shipment("DELIVERED", None), DELIVERED) == (
        NoteOnly("shipment_without_tracking", alert=True)
    )


@pytest.mark.parametrize(
    ("state", "plan"),
    [
        (OrderState.PLACED, RejectOrder("cancelled by Empower: pharmacist decision")),
        (OrderState.IN_PROGRESS, RejectOrder("cancelled by Empower: pharmacist decision")),
        (OrderState.CANCELLED, NoteOnly("cancellation_confirmed")),
        (OrderState.DELIVERED, NoteOnly("cancellation_for_inactive_order", alert=True)),
    ],
)
def test_an_order_cancelled_by_empower(state: OrderState, plan: object) -> None:
    news = OrderNews("r", succeeded=True, status="CANCELLED", message="pharmacist decision")
    assert plan_order_news(state, news) == plan


def test_empower_on_hold_is_recorded_with_an_alert() -> None:
    news = OrderNews("r", succeeded=True, status="ON_HOLD", message="clarification needed")
    assert plan_order_news(OrderState.IN_PROGRESS, news) == RecordStatus("ON_HOLD", alert=True)


def test_a_rejection_after_our_cancellation_is_quiet() -> None:
    news = OrderNews("r", succeeded=False, status="REJECTED")
    assert plan_order_news(OrderState.CANCELLED, news) == NoteOnly("rejection_after_cancellation")


def test_empower_order_view_becomes_news() -> None:
    shipped = EmpowerOrder(
        "ord_1", "fill_1", "po-1", "DELIVERED", (Shipment("delivered", TRACKING),)
    )
    assert news_from_empower_order(shipped) == ShipmentNews(
        "fill_1", "DELIVERED", TRACKING, "found by reconciliation"
    )
    rejected = EmpowerOrder("ord_1", "fill_1", "po-1", "REJECTED")
    news = news_from_empower_order(rejected)
    assert isinstance(news, OrderNews)
    assert not news.succeeded
    working = news_from_empower_order(EmpowerOrder("ord_1", "fill_1", "po-1", "PROCESSING"))
    assert working == OrderNews("fill_1", succeeded=True, status="PROCESSING", message="")


def test_a_rerun_may_take_an_order_back_from_on_hold() -> None:
    assert plan_intake("on-hold") == NotOurs("on-hold")
    assert plan_intake("on-hold", rerun=True) == MarkPendingReview()


def test_stock_changes_only_where_a_product_matches_and_the_figure_differs() -> None:
    skus = [
        PharmacySku("psku-a", "EMP-A", 10),
        PharmacySku("psku-b", "EMP-B", 0),
        PharmacySku("psku-c", "NOT-AT-EMPOWER", 5),
        PharmacySku("psku-d", None, 5),
        PharmacySku("psku-e", "EMP-E", 7),
    ]
    products = {
        "EMP-A": ProductAvailability("EMP-A", True, 25),
        "EMP-B": ProductAvailability("EMP-B", False, 40),  # not in stock: 0, unchanged
        "EMP-E": ProductAvailability("EMP-E", True, 7),  # unchanged
    }
    assert plan_stock_changes(skus, products) == [StockChange("psku-a", "EMP-A", 10, 25)]
    assert plan_stock_changes(skus, products, only_sku="psku-e") == []


def test_npi_check_digit() -> None:
    assert is_valid_npi("1234567893")
    assert not is_valid_npi("1234567890")
    assert not is_valid_npi("123456789")
    assert not is_valid_npi("12345678a3")


async def arrivals_under(limiter: RateLimiter, count: int, seed: int) -> list[float]:
    """Run `count` requests at once through the limiter; each takes a random time, and the
    "partner" registers it at a random moment while it runs (as a server sees arrivals)."""
    rng = random.Random(seed)
    arrivals: list[float] = []

    async def request() -> None:
        async with limiter.slot():
            started = time.monotonic()
            duration = rng.uniform(0.0, 0.04)
            arrivals.append(started + rng.uniform(0.0, duration))
            await asyncio.sleep(duration)

    await asyncio.gather(*(request() for _ in range(count)))
    return sorted(arrivals)


def most_in_any_window(arrivals: list[float], window: float) -> int:
    return max(sum(1 for b in arrivals if a <= b < a + window) for a in arrivals)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_partner_never_sees_more_than_allowed_in_any_window(seed: int) -> None:
    limiter = RateLimiter(Rate(5, 0.2))
    arrivals = await arrivals_under(limiter, 30, seed)
    assert most_in_any_window(arrivals, 0.2) <= 5
    assert limiter.waited_seconds > 0  # it did hold requests back
    assert arrivals[-1] - arrivals[0] >= (30 / 5 - 1) * 0.2


async def test_every_rate_is_kept_at_once() -> None:
    limiter = RateLimiter(Rate(5, 0.1), Rate(8, 0.6))
    arrivals = await arrivals_under(limiter, 16, seed=4)
    assert most_in_any_window(arrivals, 0.1) <= 5
    assert most_in_any_window(arrivals, 0.6) <= 8


async def test_a_zero_rate_is_no_limit() -> None:
    limiter = RateLimiter(Rate(0, 1.0))
    await arrivals_under(limiter, 50, seed=5)
    assert limiter.waited_seconds == 0


class FixedClock:
    def __init__(self, when: datetime) -> None:
        self.when = when

    def now(self) -> datetime:
        return self.when


def test_periodic_jobs_have_one_key_per_period() -> None:
    clock = FixedClock(datetime(2026, 11, 22, 12, 0, 10, tzinfo=UTC))
    scheduler = Scheduler(
        database=None,  # type: ignore[arg-type]
        periodic=[Periodic(JobKind.RECONCILE, 300), Periodic(JobKind.SYNC_STOCK, 0)],
        clock=clock,
        signal=JobSignal(),
    )
    [first] = scheduler.due()  # a zero interval is off
    assert first.kind is JobKind.RECONCILE
    clock.when += timedelta(seconds=100)
    [same] = scheduler.due()
    assert same.unique_key == first.unique_key
    clock.when += timedelta(seconds=200)
    [later] = scheduler.due()
    assert later.unique_key != first.unique_key
    assert 0 < scheduler.seconds_to_next_period() <= 300
