"""Job identity and the outcomes steps build (connector.domain.workflow)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.domain.jobs import JobKind
from connector.domain.lifecycle import OrderEvent, OrderState
from connector.domain.records import OrderRecord
from connector.domain.workflow import (
    ORDER_STEP_NAMES,
    advance,
    cancellation,
    cancelled_at_rxscale,
    order_step,
    periodic,
    refresh,
    reject,
)

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def record(state: OrderState, generation: int = 0) -> OrderRecord:
    return OrderRecord(
        rxscale_uid="po-1",
        state=state,
        placement_generation=generation,
        empower_patient_token=None,
        empower_prescription_tokens=(),
        empower_order_id=None,
        empower_request_id=None,
        empower_status=None,
        tracking=None,
        hold_reason=None,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize("kind", list(ORDER_STEP_NAMES))
def test_each_step_has_one_key_per_order_and_generation(kind: JobKind) -> None:
    first = order_step(kind, "po-1", 0)
    assert first.kind is kind
    assert first.order_uid == "po-1"
    assert order_step(kind, "po-1", 0).unique_key == first.unique_key
    assert order_step(kind, "po-1", 1).unique_key != first.unique_key
    assert order_step(kind, "po-2", 0).unique_key != first.unique_key


def test_step_keys_never_collide_across_kinds() -> None:
    keys = {order_step(kind, "po-1", 0).unique_key for kind in ORDER_STEP_NAMES}
    assert len(keys) == len(ORDER_STEP_NAMES)


def test_the_keys_are_the_ones_stored_since_the_first_release() -> None:
    # Queued jobs of a running installation carry these; migration 0003 renamed the one
    # spelling that differed (`accept:<uid>` without a generation).
    assert order_step(JobKind.ACCEPT_ORDER, "po-1", 0).unique_key == "accept:po-1:g0"
    assert order_step(JobKind.MARK_IN_PROGRESS, "po-1", 2).unique_key == "in-progress:po-1:g2"
    assert cancellation(record(OrderState.PLACED, 1)).unique_key == "cancel:po-1:g1"
    assert refresh("po-1", 7).unique_key == "refresh:po-1:7"
    assert periodic(JobKind.RECONCILE, 300, 42).unique_key == "reconcile:300:42"


def test_advancing_queues_what_the_transition_table_names() -> None:
    outcome = advance(record(OrderState.RECEIVED, 3), OrderEvent.ACCEPT, detail={"x": 1})
    assert [t.after for t in outcome.transitions] == [OrderState.ACCEPTED]
    assert [(s.kind, s.unique_key) for s in outcome.follow_ups] == [
        (JobKind.PLACE_ORDER, "place:po-1:g3")
    ]
    assert outcome.detail == {"x": 1}
    assert advance(record(OrderState.PLACED), OrderEvent.START).follow_ups == ()


def test_a_rejection_records_the_reason_and_queues_the_hold() -> None:
    outcome = reject(record(OrderState.PLACED), "out of stock", request_id="fill_1")
    assert outcome.update is not None
    assert outcome.update.hold_reason == "out of stock (Empower request_id fill_1)"
    assert [s.kind for s in outcome.follow_ups] == [JobKind.HOLD_ORDER]


def test_cancelled_at_rxscale_before_placement() -> None:
    outcome = cancelled_at_rxscale(record(OrderState.ACCEPTED))
    assert [t.after for t in outcome.transitions] == [OrderState.CANCELLED]
    assert outcome.follow_ups == ()
