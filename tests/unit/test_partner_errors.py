"""From a partner's HTTP answer to our error types (connector.partner.errors), and the
same treatment of an unreadable answer by both adapters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from connector.domain.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    Partner,
    PermanentError,
    RateLimitedError,
    TransientError,
    UnreadableResponse,
)
from connector.domain.retry import FailureKind, classify
from connector.empower.models import OrderModel
from connector.partner.errors import error_for_status, parse_retry_after
from connector.partner.wire import read_response
from connector.rxscale.models import PharmacyOrderModel


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, TransientError),
        (503, TransientError),
        (408, TransientError),
        (429, RateLimitedError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, PermanentError),
        (400, PermanentError),
    ],
)
def test_status_codes_map_to_error_kinds(status: int, kind: type[Exception]) -> None:
    assert type(error_for_status(Partner.EMPOWER, "op", status, "m")) is kind


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert parse_retry_after("garbage", now) is None
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("-5", now) == 0.0


@pytest.mark.parametrize(
    ("partner", "model"), [(Partner.RXSCALE, PharmacyOrderModel), (Partner.EMPOWER, OrderModel)]
)
def test_an_unreadable_answer_is_transient_for_either_partner(
    partner: Partner, model: type[PharmacyOrderModel] | type[OrderModel]
) -> None:
    with pytest.raises(UnreadableResponse) as caught:
        read_response(partner, "get_order", {"unexpected": "shape"}, model)
    assert caught.value.partner is partner
    assert "unreadable response" in caught.value.message
    assert classify(caught.value)[0] is FailureKind.TRANSIENT
