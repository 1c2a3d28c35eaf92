"""Accepting an order: what to do, given the status RxScale shows when the connector fetches it."""

from __future__ import annotations

from dataclasses import dataclass

from connector.domain.lifecycle import RxScaleStatus


@dataclass(frozen=True, slots=True)
class MarkPendingReview:
    pass


@dataclass(frozen=True, slots=True)
class AlreadyPendingReview:
    """An earlier attempt set the status and then lost its answer."""


@dataclass(frozen=True, slots=True)
class AlreadyCancelled:
    pass


@dataclass(frozen=True, slots=True)
class NotAssignedYet:
    """`init`: RxScale has not finished assigning the order; try again shortly."""


@dataclass(frozen=True, slots=True)
class NotOurs:
    """Someone else is already handling it (the portal, another system)."""

    status: str


AcceptPlan = MarkPendingReview | AlreadyPendingReview | AlreadyCancelled | NotAssignedYet | NotOurs

# Statuses that mean an `in-progress` request already happened or was overtaken.
AT_OR_BEYOND_IN_PROGRESS = frozenset(
    {RxScaleStatus.IN_PROGRESS, RxScaleStatus.READY_FOR_PICKUP, RxScaleStatus.COMPLETED}
)


def plan_accept(status: str, *, rerun: bool = False) -> AcceptPlan:
    """`rerun`: an operator re-runs an order the connector had put on hold."""
    if status == RxScaleStatus.WAITING_FOR_PHARMACY:
        return MarkPendingReview()
    if rerun and status == RxScaleStatus.ON_HOLD:
        return MarkPendingReview()
    if status == RxScaleStatus.PENDING_REVIEW:
        return AlreadyPendingReview()
    if status == RxScaleStatus.CANCELLED:
        return AlreadyCancelled()
    if status == RxScaleStatus.INIT:
        return NotAssignedYet()
    return NotOurs(status)
