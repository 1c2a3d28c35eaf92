"""The order lifecycle as an explicit state machine.

States describe what the connector knows and has done; RxScale's own status strings live
in `RxScaleStatus`. Every move is a row of `TRANSITIONS`; `apply` refuses anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from connector.domain.jobs import JobKind


class OrderState(StrEnum):
    RECEIVED = "received"  # new-order webhook recorded; nothing fetched yet
    ACCEPTED = "accepted"  # RxScale shows `pending review`
    PLACED = "placed"  # the Empower order exists; RxScale not yet told
    IN_PROGRESS = "in_progress"  # RxScale shows `in-progress`
    READY_FOR_PICKUP = "ready_for_pickup"  # shipped; completes on delivery (complete_on=delivered)
    COMPLETED = "completed"  # `complete_order` sent with tracking
    DELIVERED = "delivered"  # Empower reported the delivery
    REJECTED = "rejected"  # cannot be fulfilled; the hold is not yet relayed
    ON_HOLD = "on_hold"  # RxScale shows `on-hold` with the reason
    CANCELLED = "cancelled"  # cancelled at RxScale before anything shipped
    # Cancelled at RxScale, but Empower had shipped it already: a person must settle it.
    CANCEL_REFUSED = "cancel_refused"


class OrderEvent(StrEnum):
    ACCEPT = "accept"
    PLACE = "place"
    START = "start"
    SHIP = "ship"
    COMPLETE = "complete"
    DELIVER = "deliver"
    REJECT = "reject"
    HOLD = "hold"
    CANCEL = "cancel"
    RETRY = "retry"  # an operator re-runs an order that was put on hold
    REFUSE_CANCEL = "refuse_cancel"  # Empower refused the cancellation: it had shipped


class RxScaleStatus(StrEnum):
    """RxScale pharmacy-order statuses, spelled exactly as the API spells them."""

    INIT = "init"
    WAITING_FOR_PHARMACY = "waiting for pharmacy"
    PENDING_REVIEW = "pending review"
    ON_HOLD = "on-hold"
    IN_PROGRESS = "in-progress"
    READY_FOR_PICKUP = "ready_for_pickup"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


S = OrderState
E = OrderEvent
K = JobKind

# Every move an order may make: (state, event) -> (next state, the job that event calls
# for next, if any). With the job kinds in `connector.domain.jobs`, this is the workflow.
TRANSITIONS: Final[dict[tuple[OrderState, OrderEvent], tuple[OrderState, JobKind | None]]] = {
    (S.RECEIVED, E.ACCEPT): (S.ACCEPTED, K.PLACE_ORDER),
    (S.ACCEPTED, E.PLACE): (S.PLACED, K.MARK_IN_PROGRESS),
    (S.PLACED, E.START): (S.IN_PROGRESS, None),
    (S.IN_PROGRESS, E.SHIP): (S.READY_FOR_PICKUP, None),
    (S.IN_PROGRESS, E.COMPLETE): (S.COMPLETED, None),
    (S.READY_FOR_PICKUP, E.COMPLETE): (S.COMPLETED, None),
    (S.COMPLETED, E.DELIVER): (S.DELIVERED, None),
    (S.RECEIVED, E.REJECT): (S.REJECTED, K.HOLD_ORDER),
    (S.ACCEPTED, E.REJECT): (S.REJECTED, K.HOLD_ORDER),
    (S.PLACED, E.REJECT): (S.REJECTED, K.HOLD_ORDER),
    (S.IN_PROGRESS, E.REJECT): (S.REJECTED, K.HOLD_ORDER),
    (S.REJECTED, E.HOLD): (S.ON_HOLD, None),
    # An operator's re-run starts intake again, in the next placement generation.
    (S.ON_HOLD, E.RETRY): (S.RECEIVED, K.ACCEPT_ORDER),
    # Cancelled before anything shipped. For a placed order the cancellation is applied
    # only after Empower confirmed it.
    (S.RECEIVED, E.CANCEL): (S.CANCELLED, None),
    (S.ACCEPTED, E.CANCEL): (S.CANCELLED, None),
    (S.PLACED, E.CANCEL): (S.CANCELLED, None),
    (S.IN_PROGRESS, E.CANCEL): (S.CANCELLED, None),
    (S.REJECTED, E.CANCEL): (S.CANCELLED, None),
    (S.ON_HOLD, E.CANCEL): (S.CANCELLED, None),
    # RxScale cancelled an order Empower had already shipped; its shipment news is still
    # recorded there, and RxScale is told nothing more.
    (S.PLACED, E.REFUSE_CANCEL): (S.CANCEL_REFUSED, None),
    (S.IN_PROGRESS, E.REFUSE_CANCEL): (S.CANCEL_REFUSED, None),
    (S.READY_FOR_PICKUP, E.REFUSE_CANCEL): (S.CANCEL_REFUSED, None),
}

# Nothing more happens to these by itself (an on-hold order waits for a person).
TERMINAL_STATES: Final[frozenset[OrderState]] = frozenset({S.DELIVERED, S.CANCELLED})
AT_REST_STATES: Final[frozenset[OrderState]] = TERMINAL_STATES | {S.ON_HOLD, S.CANCEL_REFUSED}
# Shipped, as far as the connector knows: a cancellation can no longer reach Empower in time.
SHIPPED: Final[frozenset[OrderState]] = frozenset({S.READY_FOR_PICKUP, S.COMPLETED, S.DELIVERED})
# Placed and waiting for Empower's news (reconciliation asks after these).
AWAITING_EMPOWER: Final[frozenset[OrderState]] = frozenset(
    {S.PLACED, S.IN_PROGRESS, S.READY_FOR_PICKUP}
)

# How far along the happy path a state is; events that would not move an order forward
# are late or repeated news, never a reason to move it back.
PROGRESS: Final[dict[OrderState, int]] = {
    S.RECEIVED: 0,
    S.ACCEPTED: 1,
    S.PLACED: 2,
    S.IN_PROGRESS: 3,
    S.READY_FOR_PICKUP: 4,
    S.COMPLETED: 5,
    S.DELIVERED: 6,
    S.REJECTED: 2,
    S.ON_HOLD: 3,
    S.CANCELLED: 7,
    S.CANCEL_REFUSED: 7,
}


class InvalidTransition(Exception):
    def __init__(self, state: OrderState, event: OrderEvent) -> None:
        super().__init__(f"event {event.value!r} is not allowed in state {state.value!r}")
        self.state = state
        self.event = event


@dataclass(frozen=True, slots=True)
class Transition:
    before: OrderState
    event: OrderEvent
    after: OrderState
    follow_up: JobKind | None = None


def apply(state: OrderState, event: OrderEvent) -> Transition:
    """The one place that decides whether an order may move, and where to."""
    move = TRANSITIONS.get((state, event))
    if move is None:
        raise InvalidTransition(state, event)
    after, follow_up = move
    return Transition(before=state, event=event, after=after, follow_up=follow_up)


def apply_all(state: OrderState, events: tuple[OrderEvent, ...]) -> tuple[Transition, ...]:
    """Several events in a row, each from where the previous one left the order."""
    transitions: list[Transition] = []
    for event in events:
        transitions.append(apply(state, event))
        state = transitions[-1].after
    return tuple(transitions)


def can_apply(state: OrderState, event: OrderEvent) -> bool:
    return (state, event) in TRANSITIONS


def is_terminal(state: OrderState) -> bool:
    return state in TERMINAL_STATES
