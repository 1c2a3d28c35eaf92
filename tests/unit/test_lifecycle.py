from __future__ import annotations

import pytest

from connector.domain.jobs import JobKind
from connector.domain.lifecycle import (
    AT_REST_STATES,
    PROGRESS,
    SHIPPED,
    TRANSITIONS,
    InvalidTransition,
    OrderEvent,
    OrderState,
    apply,
    apply_all,
    can_apply,
    is_terminal,
)

HAPPY_PATH = [
    (OrderState.RECEIVED, OrderEvent.ACCEPT, OrderState.ACCEPTED),
    (OrderState.ACCEPTED, OrderEvent.PLACE, OrderState.PLACED),
    (OrderState.PLACED, OrderEvent.START, OrderState.IN_PROGRESS),
    (OrderState.IN_PROGRESS, OrderEvent.COMPLETE, OrderState.COMPLETED),
    (OrderState.COMPLETED, OrderEvent.DELIVER, OrderState.DELIVERED),
]


@pytest.mark.parametrize(("before", "event", "after"), HAPPY_PATH)
def test_happy_path_moves_one_step_at_a_time(
    before: OrderState, event: OrderEvent, after: OrderState
) -> None:
    transition = apply(before, event)
    assert (transition.before, transition.event, transition.after) == (before, event, after)


def test_every_pair_outside_the_table_is_refused() -> None:
    for state in OrderState:
        for event in OrderEvent:
            if (state, event) in TRANSITIONS:
                assert apply(state, event).after is TRANSITIONS[(state, event)][0]
            else:
                with pytest.raises(InvalidTransition):
                    apply(state, event)
                assert not can_apply(state, event)


def test_a_shipped_order_cannot_be_cancelled_or_placed_again() -> None:
    for state in (OrderState.COMPLETED, OrderState.DELIVERED):
        assert not can_apply(state, OrderEvent.CANCEL)
        assert not can_apply(state, OrderEvent.PLACE)


def test_nothing_leaves_a_terminal_state() -> None:
    for state in OrderState:
        if is_terminal(state):
            assert not any(can_apply(state, event) for event in OrderEvent)


def test_rejection_is_relayed_as_a_hold() -> None:
    for state in (OrderState.ACCEPTED, OrderState.PLACED, OrderState.IN_PROGRESS):
        assert apply(apply(state, OrderEvent.REJECT).after, OrderEvent.HOLD).after is (
            OrderState.ON_HOLD
        )


def test_only_an_operators_retry_moves_an_order_back() -> None:
    for (state, event), (after, _follow_up) in TRANSITIONS.items():
        if event is OrderEvent.RETRY:
            assert (state, after) == (OrderState.ON_HOLD, OrderState.RECEIVED)
        elif after not in (OrderState.REJECTED, OrderState.ON_HOLD):
            assert PROGRESS[after] > PROGRESS[state], (state, event)


def test_cancellation_is_possible_until_something_shipped() -> None:
    ended = {OrderState.CANCELLED, OrderState.CANCEL_REFUSED}
    for state in OrderState:
        assert can_apply(state, OrderEvent.CANCEL) is (state not in SHIPPED | ended)


def test_a_refused_cancellation_rests_wherever_the_order_was_placed() -> None:
    refusable = {s for s in OrderState if can_apply(s, OrderEvent.REFUSE_CANCEL)}
    assert refusable == {OrderState.PLACED, OrderState.IN_PROGRESS, OrderState.READY_FOR_PICKUP}
    assert OrderState.CANCEL_REFUSED in AT_REST_STATES


def test_completion_on_delivery_passes_through_ready_for_pickup() -> None:
    shipped = apply(OrderState.IN_PROGRESS, OrderEvent.SHIP).after
    assert shipped is OrderState.READY_FOR_PICKUP
    assert apply(shipped, OrderEvent.COMPLETE).after is OrderState.COMPLETED


def test_the_workflow_names_the_job_each_event_calls_for() -> None:
    follow_ups = {
        (state, event): follow_up
        for (state, event), (_after, follow_up) in TRANSITIONS.items()
        if follow_up is not None
    }
    assert follow_ups[(OrderState.RECEIVED, OrderEvent.ACCEPT)] is JobKind.PLACE_ORDER
    assert follow_ups[(OrderState.ACCEPTED, OrderEvent.PLACE)] is JobKind.MARK_IN_PROGRESS
    assert follow_ups[(OrderState.ON_HOLD, OrderEvent.RETRY)] is JobKind.ACCEPT_ORDER
    # Every rejection, wherever it happens, is relayed as a hold; nothing else follows up.
    rejections = {key for key in TRANSITIONS if key[1] is OrderEvent.REJECT}
    assert {k for k, v in follow_ups.items() if v is JobKind.HOLD_ORDER} == rejections
    assert len(follow_ups) == 2 + 1 + len(rejections)


def test_events_in_a_row_chain_from_where_each_left_the_order() -> None:
    chain = apply_all(OrderState.IN_PROGRESS, (OrderEvent.COMPLETE, OrderEvent.DELIVER))
    assert [(t.before, t.after) for t in chain] == [
        (OrderState.IN_PROGRESS, OrderState.COMPLETED),
        (OrderState.COMPLETED, OrderState.DELIVERED),
    ]
    with pytest.raises(InvalidTransition):
        apply_all(OrderState.PLACED, (OrderEvent.START, OrderEvent.DELIVER))
