"""place_order: patient, prescriptions and order at Empower, never twice.

Every placement first asks Empower for an order with this `external_order_id`: an earlier
attempt may have placed it and lost the answer (a timeout, a crash, a job handed back at
shutdown). Only then are patient, prescriptions and order created, each with an
`Idempotency-Key` derived from the order, which covers the attempts that overlap.
"""

from __future__ import annotations

from connector.domain.empower import PlacedOrder
from connector.domain.errors import ConflictError, Partner, PartnerError
from connector.domain.jobs import Job
from connector.domain.lifecycle import OrderEvent, OrderState, RxScaleStatus
from connector.domain.mapping import IdempotencyKeys, PlacementPlan, Unmappable, map_order
from connector.domain.outcome import NOTHING, HistoryEntry, OrderUpdate, Outcome
from connector.domain.records import OrderRecord
from connector.domain.redaction import scrub
from connector.domain.workflow import advance, cancelled_at_rxscale, reject
from connector.work.base import OrderHandler, log


class PlaceOrder(OrderHandler):
    requires = frozenset({OrderState.ACCEPTED})

    async def handle(self, job: Job, record: OrderRecord) -> Outcome:
        order = await self.deps.rxscale.get_order(record.rxscale_uid)
        if order.status == RxScaleStatus.CANCELLED:
            return cancelled_at_rxscale(record)
        plan = map_order(order, self.deps.policy)
        if isinstance(plan, Unmappable):
            log.warning("order_unmappable", missing=list(plan.missing))
            return reject(record, plan.comment())
        try:
            return await self._place(record, plan)
        except PartnerError as exc:
            # Empower's messages may quote what we sent; strip this order's patient values.
            raise exc.with_message(scrub(exc.message, order.sensitive_values())) from exc

    async def _place(self, record: OrderRecord, plan: PlacementPlan) -> Outcome:
        uid = record.rxscale_uid
        empower = self.deps.empower
        existing = await empower.find_order(uid)
        if existing is not None:
            log.info("empower_order_adopted", empower_order_id=existing.order_id)
            placed = PlacedOrder(existing.order_id, existing.request_id, existing.status)
            return _placed(record, placed, patient_token=None, tokens=None, adopted=True)
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
        request = plan.order_request(uid, patient_token, tokens)
        try:
            placed = await empower.create_order(request, keys.order())
        except ConflictError:
            existing = await empower.find_order(uid)
            if existing is None:
                raise
            placed = PlacedOrder(existing.order_id, existing.request_id, existing.status)
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
