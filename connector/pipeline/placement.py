"""place_order: patient, prescriptions and order at Empower, never twice.

Every placement first asks Empower for an order with this `external_order_id`: an earlier
attempt may have placed it and lost the answer (a timeout, a crash, a job handed back at
shutdown). Only then are patient, prescriptions and order created, each with an
`Idempotency-Key` derived from the order, which covers the attempts that overlap.
"""

from __future__ import annotations

from connector.domain.empower import PlacedOrder
from connector.domain.errors import ConflictError, Partner, PartnerError
from connector.domain.jobs import Job, JobKind, JobSpec
from connector.domain.lifecycle import OrderEvent, OrderState, RxScaleStatus, apply
from connector.domain.mapping import IdempotencyKeys, PlacementPlan, Unmappable, map_order
from connector.domain.outcome import NOTHING, HistoryEntry, OrderUpdate, Outcome
from connector.domain.records import OrderRecord
from connector.domain.redaction import scrub
from connector.pipeline.base import Handler, log, reject, skip


class PlaceOrder(Handler):
    async def run(self, job: Job) -> Outcome:
        record = await self.load(job)
        if record.state is not OrderState.ACCEPTED:
            return skip(job, record, OrderState.ACCEPTED)
        uid = record.rxscale_uid
        order = await self.deps.rxscale.get_order(uid)
        if order.status == RxScaleStatus.CANCELLED:
            return Outcome(
                order_uid=uid,
                transitions=(apply(record.state, OrderEvent.CANCEL),),
                detail={"rxscale_status": RxScaleStatus.CANCELLED.value},
            )
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
            return self._placed(record, placed, patient_token=None, tokens=None, adopted=True)
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
        return self._placed(record, placed, patient_token=patient_token, tokens=tokens)

    @staticmethod
    def _placed(
        record: OrderRecord,
        placed: PlacedOrder,
        *,
        patient_token: str | None,
        tokens: tuple[str, ...] | None,
        adopted: bool = False,
    ) -> Outcome:
        uid = record.rxscale_uid
        generation = record.placement_generation
        return Outcome(
            order_uid=uid,
            transitions=(apply(record.state, OrderEvent.PLACE),),
            update=OrderUpdate(
                empower_patient_token=patient_token,
                empower_prescription_tokens=tokens,
                empower_order_id=placed.order_id,
                empower_request_id=placed.request_id,
                empower_status=placed.status,
            ),
            history=(HistoryEntry("empower_order_adopted", {}),) if adopted else (),
            follow_ups=(
                JobSpec(
                    JobKind.MARK_IN_PROGRESS, uid, unique_key=f"in-progress:{uid}:g{generation}"
                ),
            ),
            detail={"empower_order_id": placed.order_id, "request_id": placed.request_id},
        )

    async def on_permanent_failure(self, job: Job, error: PartnerError) -> Outcome:
        if error.partner is not Partner.EMPOWER:
            return NOTHING  # RxScale refused us the order; there is nothing to hold
        record = await self.load(job)
        if record.state is not OrderState.ACCEPTED:
            return NOTHING
        return reject(
            record, f"Empower refused the order: {error.message}", request_id=error.request_id
        )
