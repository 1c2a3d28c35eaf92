"""Rows of the order mapping and its history, as the store returns them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connector.domain.empower import Tracking
from connector.domain.jobs import JsonObject
from connector.domain.lifecycle import OrderState


@dataclass(frozen=True, slots=True)
class OrderRecord:
    rxscale_uid: str
    state: OrderState
    placement_generation: int
    empower_patient_token: str | None
    empower_prescription_tokens: tuple[str, ...]
    empower_order_id: str | None
    empower_request_id: str | None
    empower_status: str | None
    tracking: Tracking | None
    hold_reason: str | None
    created_at: datetime
    updated_at: datetime
    empower_checked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderHistoryRow:
    id: int
    rxscale_uid: str
    kind: str
    from_state: OrderState | None
    to_state: OrderState | None
    detail: JsonObject
    occurred_at: datetime
