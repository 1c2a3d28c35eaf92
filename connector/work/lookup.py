"""What Empower holds for an order: the one lookup placement and cancellation share."""

from __future__ import annotations

from connector.domain.empower import EmpowerOrder, live_order
from connector.domain.mapping import IdempotencyKeys
from connector.domain.records import OrderRecord
from connector.work.ports import EmpowerApi


async def live_placement(empower: EmpowerApi, record: OrderRecord) -> EmpowerOrder | None:
    """The live Empower order placed for this order's current generation, if any: an
    earlier attempt may have placed it and lost the answer."""
    keys = IdempotencyKeys(record.rxscale_uid, record.placement_generation)
    return live_order(await empower.find_orders(keys.external_order_id()))
