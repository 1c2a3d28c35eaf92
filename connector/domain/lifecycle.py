"""The order lifecycle as an explicit state machine.

States describe what the connector knows and has done; RxScale's own status strings live
in `RxScaleStatus`. Every move is a row of `TRANSITIONS`; `apply` refuses anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class OrderState(StrEnum):
    RECEIVED = "received"  # new-order webhook recorded; nothing fetched yet
    ACCEPTED = "accepted"  # RxScale shows `pending review`
    PLACED = "placed"  # the Empower order exists; RxScale not yet told
    IN_PROGRESS = "in_progress"  # RxScale shows `in-progress`
    COMPLETED = "completed"  # `complete_order` sent with tracking
    DELIVERED = "delivered"  # Empower reported the delivery
    REJECTED = "rejected"  # cannot be fulfilled; the hold is not yet relayed
    ON_HOLD = "on_hold"  # RxScale shows `on-hold` with the reason
    CANCELLED = "cancelled"  # cancelled at RxScale before anything shipped


class OrderEvent(StrEnum):
    ACCEPT = "accept"
    PLACE = "place"
    START = "start"
    COMPLETE = "complete"
    DELIVER = "deliver"
    REJECT = "reject"
    HOLD = "hold"
    CANCEL = "cancel"


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

TRANSITIONS: Final[dict[tuple[OrderState, OrderEvent], OrderState]] = {
    (S.RECEIVED, E.ACCEPT): S.ACCEPTED,
    (S.ACCEPTED, E.PLACE): S.PLACED,
    (S.PLACED, E.START): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.COMPLETE): S.COMPLETED,
    (S.COMPLETED, E.DELIVER): S.DELIVERED,
    (S.RECEIVED, E.REJECT): S.REJECTED,
    (S.ACCEPTED, E.REJECT): S.REJECTED,
    (S.PLACED, E.REJECT): S.REJECTED,
    (S.IN_PROGRESS, E.REJECT): S.REJECTED,
    (S.REJECTED, E.HOLD): S.ON_HOLD,
    (S.RECEIVED, E.CANCEL): S.CANCELLED,
    (S.ACCEPTED, E.CANCEL): S.CANCELLED,
}

TERMINAL_STATES: Final[frozenset[OrderState]] = frozenset({S.DELIVERED, S.ON_HOLD, S.CANCELLED})

# How far along the happy path a state is; events that would not move an order forward
# are late or repeated news, never a reason to move it back.
PROGRESS: Final[dict[OrderState, int]] = {
    S.RECEIVED: 0,
    S.ACCEPTED: 1,
    S.PLACED: 2,
    S.IN_PROGRESS: 3,
    S.COMPLETED: 4,
    S.DELIVERED: 5,
    S.REJECTED: 2,
    S.ON_HOLD: 3,
    S.CANCELLED: 6,
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


def apply(state: OrderState, event: OrderEvent) -> Transition:
    """The one place that decides whether an order may move, and where to."""
    after = TRANSITIONS.get((state, event))
    if after is None:
        raise InvalidTransition(state, event)
    return Transition(before=state, event=event, after=after)


def can_apply(state: OrderState, event: OrderEvent) -> bool:
    return (state, event) in TRANSITIONS


def is_terminal(state: OrderState) -> bool:
    return state in TERMINAL_STATES
