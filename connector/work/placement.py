"""place_order: patient, prescriptions and order at Empower, never twice.

Every placement first asks Empower for a live order with this generation's
`external_order_id`: an earlier attempt may have placed it and lost the answer (a
timeout, a crash, a job handed back at shutdown). Only then are patient, prescriptions
and order created, each with an `Idempotency-Key` derived from the order, which covers the
attempts that overlap. An order Empower rejected or cancelled is never adopted: a re-run
places a new one, under the next generation's external id.

The order comes from accepting when it hands it over (`handoff`), else from RxScale.
"""

from __future__ import annotations

import dataclasses

from connector.domain.empower import EmpowerOrder, PlacedOrder
from connector.domain.errors import ConflictError, Partner, PartnerError
from connector.domain.jobs import Job
from connector.domain.lifecycle import OrderEvent, OrderState, RxScaleStatus
from connector.domain.mapping import IdempotencyKeys, PlacementPlan, Unmappable, map_order
from connector.domain.outcome import NOTHING, HistoryEntry, OrderUpdate, Outcome
from connector.domain.records import OrderRecord
from connector.domain.redaction import scrub
from connector.domain.workflow import advance, cancellation, cancelled_at_rxscale, reject
from connector.work.base import OrderHandler, log
from connector.work.lookup import live_placement


class PlaceOrder(OrderHandler):
    requires = frozenset({OrderState.ACCEPTED})

    async def handle(self, job: Job, record: OrderRecord) -> Outcome:
        uid, generation = record.rxscale_uid, record.placement_generation
        fetched = self.deps.fetched.take(uid, generation, self.deps.clock.now())
        order = fetched or await self.deps.rxscale.get_order(uid)
        if order.status == RxScaleStatus.CANCELLED:
            return await self._cancelled_before_placing(record)
        plan = map_order(order, self.deps.policy)
        if isinstance(plan, Unmappable):
            log.warning("order_unmappable", missing=list(plan.missing))
            return reject(record, plan.comment())
        try:
            return await self._place(record, plan)
        except PartnerError as exc:
            # Empower's messages may quote what we sent; strip this order's patient values.
            sensitive = order.sensitive_values() | plan.sent_values()
            raise exc.with_message(scrub(exc.message, sensitive)) from exc

    async def _cancelled_before_placing(self, record: OrderRecord) -> Outcome:
        """RxScale cancelled the order. An earlier attempt may still have placed it: then
        it is adopted and cancelled at Empower next; otherwise it is never placed."""
        existing = await live_placement(self.deps.empower, record)
        if existing is None:
            return cancelled_at_rxscale(record)
        log.info("empower_order_adopted", empower_order_id=existing.order_id, to_cancel=True)
        adopted = _placed(
            record, _as_placed(existing), patient_token=None, tokens=None, adopted=True
        )
        return dataclasses.replace(adopted, follow_ups=(cancellation(record),))

    async def _place(self, record: OrderRecord, plan: PlacementPlan) -> Outcome:
        uid = record.rxscale_uid
        empower = self.deps.empower
        existing = await live_placement(self.deps.empower, record)
        if existing is not None:
            log.info("empower_order_adopted", empower_order_id=existing.order_id)
            return _placed(
                record, _as_placed(existing), patient_token=None, tokens=None, adopted=True
            )
        keys = IdempotencyKeys(uid, record.placement_generation)
        patient_token = await empower.create_patient(plan.patient, keys.patient())
        tokens = tuple(
            [
                await empower.create_prescription(
                    prescription, patient_token, keys.prescription(prescription.item_uid)
                )
                for prescription in plan.prescriptions
            ]
        )
        request = plan.order_request(keys.external_order_id(), patient_token, tokens)
        try:
            placed = await empower.create_order(request, keys.order())
        except ConflictError:
            existing = await live_placement(self.deps.empower, record)
            if existing is None:
                raise
            placed = _as_placed(existing)
        log.info(
            "empower_order_placed",
            empower_order_id=placed.order_id,
            request_id=placed.request_id,
            prescriptions=len(tokens),
        )
        return _placed(record, placed, patient_token=patient_token, tokens=tokens)

    async def on_permanent_failure(self, job: Job, error: PartnerError) -> Outcome:
        if error.partner is not Partner.EMPOWER:
            return NOTHING  # RxScale refused us the order; there is nothing to hold
        record = await self.load(job)
        if record.state not in self.requires:
            return NOTHING
        return reject(
            record, f"Empower refused the order: {error.message}", request_id=error.request_id
        )


def _as_placed(order: EmpowerOrder) -> PlacedOrder:
    return PlacedOrder(order.order_id, order.request_id, order.status)


def _placed(
    record: OrderRecord,
    placed: PlacedOrder,
    *,
    patient_token: str | None,
    tokens: tuple[str, ...] | None,
    adopted: bool = False,
) -> Outcome:
    return advance(
        record,
        OrderEvent.PLACE,
        update=OrderUpdate(
            empower_patient_token=patient_token,
            empower_prescription_tokens=tokens,
            empower_order_id=placed.order_id,
            empower_request_id=placed.request_id,
            empower_status=placed.status,
        ),
        history=(HistoryEntry("empower_order_adopted", {}),) if adopted else (),
        detail={"empower_order_id": placed.order_id, "request_id": placed.request_id},
    )
