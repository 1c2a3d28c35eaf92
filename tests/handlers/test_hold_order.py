"""hold_order (connector.work.progress): RxScale shows `on-hold` with the reason."""

from __future__ import annotations

import pytest

from connector.domain.errors import PermanentError
from connector.domain.jobs import JobKind
from connector.domain.lifecycle import OrderState
from connector.domain.outcome import NOTHING, Outcome
from connector.domain.workflow import reject
from connector.work.progress import HoldOrder
from tests.handlers.conftest import Bench

HOLD = JobKind.HOLD_ORDER


async def rejected(bench: Bench, reason: str = "out of stock") -> str:
    record = await bench.order(OrderState.ACCEPTED)
    await bench.commit(reject(record, reason))
    return record.rxscale_uid


async def test_the_hold_reason_reaches_rxscale(bench: Bench) -> None:
    uid = await rejected(bench, "product out of stock")
    outcome = await HoldOrder(bench.deps).run(bench.job(HOLD, uid))
    assert [t.after for t in outcome.transitions] == [OrderState.ON_HOLD]
    history = bench.rxscale.orders[uid].history[-1]
    assert (history["status"], history["comment"]) == ("on-hold", "product out of stock")


async def test_an_order_that_moved_on_is_skipped(bench: Bench) -> None:
    record = await bench.order(OrderState.ON_HOLD)
    assert await HoldOrder(bench.deps).run(bench.job(HOLD, record.rxscale_uid)) == NOTHING


async def test_a_lost_answer_is_confirmed_by_reading(bench: Bench) -> None:
    uid = await rejected(bench)
    bench.fault("rxscale", method="PATCH", path="*/status", status=409, after_commit=True)
    outcome = await HoldOrder(bench.deps).run(bench.job(HOLD, uid))
    assert [t.after for t in outcome.transitions] == [OrderState.ON_HOLD]


async def test_an_order_cancelled_meanwhile_has_nothing_to_hold(bench: Bench) -> None:
    uid = await rejected(bench)
    bench.rxscale.orders[uid].set_status("cancelled")
    outcome: Outcome = await HoldOrder(bench.deps).run(bench.job(HOLD, uid))
    assert [t.after for t in outcome.transitions] == [OrderState.CANCELLED]


async def test_a_refusal_that_left_the_order_elsewhere_is_raised(bench: Bench) -> None:
    uid = await rejected(bench)
    bench.fault("rxscale", method="PATCH", path="*/status", status=400)
    with pytest.raises(PermanentError):
        await HoldOrder(bench.deps).run(bench.job(HOLD, uid))
