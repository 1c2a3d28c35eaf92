"""What an RxScale webhook delivery tells the connector, as a plain value."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RxScaleEventType(StrEnum):
    ORDER_CREATED = "pharmacy_order_created"
    ORDER_UPDATED = "pharmacy_order_updated"
    SKU_STOCK_UPDATED = "pharmacy_sku_stock_updated"


@dataclass(frozen=True, slots=True)
class RxScaleNews:
    """One delivery: its event type and time, the order (or SKU) it is about, and the
    status it reports, if any."""

    event_type: str
    timestamp: int
    subject_uid: str
    status: str | None

    def dedupe_parts(self) -> tuple[str, ...]:
        """RxScale's documented key, plus the status so two changes in a second differ."""
        parts = (self.event_type, str(self.timestamp), self.subject_uid)
        if self.event_type == RxScaleEventType.ORDER_UPDATED:
            return (*parts, self.status or "")
        return parts
