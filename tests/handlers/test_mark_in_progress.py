"""mark_in_progress (connector.work.progress): RxScale shows `in-progress`."""

from __future__ import annotations

import pytest

from connector.domain.errors import PermanentError
from connector.domain.jobs import JobKind
from connector.domain.lifecycle import OrderState
from connector.domain.outcome import NOTHING
from connector.work.progress import MarkInProgress
from tests.handlers.conftest import Bench

START = JobKind.MARK_IN_PROGRESS


async def test_a_placed_order_is_marked_in_progress(bench: Bench) -> None:
    record = await bench.order(OrderState.PLACED)
    outcome = await MarkInProgress(bench.deps).run(bench.job(START, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.IN_PROGRESS]
    assert outcome.follow_ups == ()
    assert bench.rxscale.orders[record.rxscale_uid].status == "in-progress"


async def test_an_order_that_moved_on_is_skipped(bench: Bench) -> None:
    record = await bench.order(OrderState.IN_PROGRESS)
    assert await MarkInProgress(bench.deps).run(bench.job(START, record.rxscale_uid)) == NOTHING
    assert bench.rxscale_calls("PATCH", "/status") == 0


async def test_a_lost_answer_is_confirmed_by_reading(bench: Bench) -> None:
    record = await bench.order(OrderState.PLACED)
    bench.fault("rxscale", method="PATCH", path="*/status", status=400, after_commit=True)
    outcome = await MarkInProgress(bench.deps).run(bench.job(START, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.IN_PROGRESS]


async def test_an_order_already_beyond_in_progress_counts_as_there(bench: Bench) -> None:
    record = await bench.order(OrderState.PLACED, rxscale_status="ready_for_pickup")
    outcome = await MarkInProgress(bench.deps).run(bench.job(START, record.rxscale_uid))
    assert [t.after for t in outcome.transitions] == [OrderState.IN_PROGRESS]


async def test_an_order_cancelled_at_rxscale_is_cancelled_at_empower_next(bench: Bench) -> None:
    record = await bench.order(OrderState.PLACED, rxscale_status="cancelled")
    outcome = await MarkInProgress(bench.deps).run(bench.job(START, record.rxscale_uid))
    assert outcome.transitions == ()
    assert [(s.kind, s.unique_key) for s in outcome.follow_ups] == [
        (JobKind.CANCEL_ORDER, f"cancel:{record.rxscale_uid}:g0")
    ]


async def test_a_refusal_that_left_the_order_elsewhere_is_raised(bench: Bench) -> None:
    record = await bench.order(OrderState.PLACED)
    bench.fault("rxscale", method="PATCH", path="*/status", status=422)
    with pytest.raises(PermanentError):
        await MarkInProgress(bench.deps).run(bench.job(START, record.rxscale_uid))
