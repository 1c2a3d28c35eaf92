"""Empower news as job payloads, and back (connector.store.news_codec)."""

from __future__ import annotations

import pytest

from connector.domain.empower import Tracking
from connector.domain.news import EmpowerNews, OrderNews, PrescriptionNews, ShipmentNews
from connector.store.news_codec import news_from_payload, news_to_payload

TRACKING = Tracking("9400111", "usps", "https://t/9400111")


def shipped(tracking: Tracking | None = TRACKING) -> ShipmentNews:
    return ShipmentNews(request_id="fill_request_1", status="SHIPPED", tracking=tracking)


@pytest.mark.parametrize(
    "news",
    [
        shipped(),
        shipped(tracking=None),
        OrderNews("fill_request_2", succeeded=False, status=None, code="R1"),
        PrescriptionNews("rx_1", "pt_1"),
        PrescriptionNews("rx_1", None),
    ],
)
def test_news_survives_the_job_payload(news: EmpowerNews) -> None:
    assert news_from_payload(news_to_payload(news)) == news
