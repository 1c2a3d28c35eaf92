"""What accepting an order does, given RxScale's status (connector.domain.accept)."""

from __future__ import annotations

import pytest

from connector.domain.accept import (
    AlreadyCancelled,
    AlreadyPendingReview,
    MarkPendingReview,
    NotAssignedYet,
    NotOurs,
    plan_accept,
)


@pytest.mark.parametrize(
    ("status", "plan"),
    [
        ("waiting for pharmacy", MarkPendingReview()),
        ("pending review", AlreadyPendingReview()),
        ("cancelled", AlreadyCancelled()),
        ("init", NotAssignedYet()),
        ("in-progress", NotOurs("in-progress")),
        ("completed", NotOurs("completed")),
    ],
)
def test_accept_by_rxscale_status(status: str, plan: object) -> None:
    assert plan_accept(status) == plan


def test_a_rerun_may_take_an_order_back_from_on_hold() -> None:
    assert plan_accept("on-hold") == NotOurs("on-hold")
    assert plan_accept("on-hold", rerun=True) == MarkPendingReview()
