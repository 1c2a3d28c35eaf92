"""What a job handler hands back: everything the worker commits in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from connector.domain.empower import Tracking
from connector.domain.jobs import JobSpec, JsonObject
from connector.domain.lifecycle import Transition


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """Fields of the order mapping to set; `None` leaves a field as it is."""

    empower_patient_token: str | None = None
    empower_prescription_tokens: tuple[str, ...] | None = None
    empower_order_id: str | None = None
    empower_request_id: str | None = None
    empower_status: str | None = None
    tracking: Tracking | None = None
    hold_reason: str | None = None
    # Empower told us about the order (or we asked): reconciliation can leave it alone.
    heard_from_empower: bool = False


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """An order-events row that is not a state change (repeated news, a refusal, ...)."""

    kind: str
    detail: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    order_uid: str | None = None
    # Applied in order; the first one's `before` is the compare-and-set guard.
    transitions: tuple[Transition, ...] = ()
    update: OrderUpdate | None = None
    history: tuple[HistoryEntry, ...] = ()
    follow_ups: tuple[JobSpec, ...] = ()
    # RxScale orders to take in as if their new-order webhook had come (reconciliation).
    intake: tuple[str, ...] = ()
    # Dead jobs to give another run (re-drive).
    requeue: tuple[int, ...] = ()
    # Empower request ids whose news matched no order after the wait: kept as unmatched.
    unmatched: tuple[str, ...] = ()
    detail: JsonObject = field(default_factory=dict)

    def __post_init__(self) -> None:
        for earlier, later in zip(self.transitions, self.transitions[1:], strict=False):
            if earlier.after is not later.before:
                raise ValueError("transitions must chain")
        if (self.transitions or self.update or self.history) and self.order_uid is None:
            raise ValueError("an outcome that changes an order must name it")


NOTHING = Outcome()
