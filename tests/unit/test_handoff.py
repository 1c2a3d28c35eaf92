"""The hand-over of a fetched order from accepting to placing (connector.work.handoff)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.domain.order import PharmacyOrder
from connector.work.handoff import FetchedOrders

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def order(uid: str) -> PharmacyOrder:
    return PharmacyOrder(uid, "waiting for pharmacy", None, (), None, None, None)


def test_a_fresh_order_is_handed_over_once() -> None:
    fetched = FetchedOrders(fresh_for_seconds=10)
    fetched.keep(order("po-1"), 0, NOW)
    taken = fetched.take("po-1", 0, NOW + timedelta(seconds=9))
    assert taken is not None
    assert taken.uid == "po-1"
    assert fetched.take("po-1", 0, NOW + timedelta(seconds=9)) is None


def test_an_old_order_or_another_generation_is_not_handed_over() -> None:
    fetched = FetchedOrders(fresh_for_seconds=10)
    fetched.keep(order("po-1"), 0, NOW)
    assert fetched.take("po-1", 0, NOW + timedelta(seconds=11)) is None
    fetched.keep(order("po-2"), 0, NOW)
    assert fetched.take("po-2", 1, NOW) is None  # a re-run places from its own fetch
    assert len(fetched) == 0  # neither stays in memory


def test_memory_holds_only_the_newest_few() -> None:
    fetched = FetchedOrders(capacity=3)
    for n in range(5):
        fetched.keep(order(f"po-{n}"), 0, NOW)
    assert len(fetched) == 3
    assert fetched.take("po-0", 0, NOW) is None
    assert fetched.take("po-4", 0, NOW) is not None
